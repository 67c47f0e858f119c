"""Exact-resume checkpoints: trainable weights, optimiser, scheduler, RNG states, data position.

Layout of ``<run>/checkpoints/step-00000120/`` (complete or absent: it is
built under a temporary name, fsynced, then renamed by
:func:`laconic.storage.atomic_directory`; only ``step-*`` names count)::

    trainable.pt   trainable parameters by name (LoRA adapters, or all weights)
    optimizer.pt   optimiser state      scheduler.pt   LR scheduler state
    rng.pt         python / numpy / torch (CPU + CUDA) generator states
    state.json     {"step", "micro_step", "config"}
    adapter/       the LoRA adapter in peft format (LoRA runs; for inspection/merge)

Only trainable parameters are stored: for LoRA that is megabytes, not the
backbone's gigabytes, and the frozen weights are re-read from ``config.model``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from laconic.errors import LaconicError
from laconic.storage import atomic_directory

_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass
class ResumeState:
    """Where a restored run continues."""

    step: int  # optimiser steps done
    micro_step: int  # micro-batches consumed (data position)
    path: Path


def checkpoint_dirs(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP_DIR.match(p.name)) and (p / "state.json").is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    dirs = checkpoint_dirs(run_dir)
    return dirs[-1] if dirs else None


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    run_dir: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    step: int,
    micro_step: int,
    config: dict[str, Any],
    keep: int,
    peft_model: Any = None,
) -> Path:
    """Write ``checkpoints/step-<step>`` atomically, then drop all but the last ``keep``.

    ``model`` is the unwrapped encoder (single process or DDP, main process only).
    """
    target = Path(run_dir) / "checkpoints" / f"step-{step:08d}"
    with atomic_directory(target) as tmp:
        torch.save(trainable_state(model), tmp / "trainable.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        if peft_model is not None:
            peft_model.save_pretrained(tmp / "adapter")
        (tmp / "state.json").write_text(json.dumps({"step": step, "micro_step": micro_step, "config": config}, indent=2))
    for old in checkpoint_dirs(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> ResumeState:
    """Restore a checkpoint written by :func:`save_checkpoint` into live objects."""
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text())
        weights = torch.load(path / "trainable.pt", map_location="cpu", weights_only=True)
        optim_state = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=False)
        sched_state = torch.load(path / "scheduler.pt", map_location="cpu", weights_only=False)
        rng = torch.load(path / "rng.pt", map_location="cpu", weights_only=False)
    except (OSError, ValueError, RuntimeError) as exc:
        raise LaconicError(f"{path}: unreadable checkpoint ({exc})") from None
    params = dict(model.named_parameters())
    missing = [n for n in weights if n not in params]
    if missing:
        raise LaconicError(f"{path}: checkpoint parameters not in the model (different LoRA/model?): {missing[:3]}")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value.to(params[name].device, params[name].dtype))
    optimizer.load_state_dict(optim_state)
    scheduler.load_state_dict(sched_state)
    set_rng_state(rng)
    return ResumeState(step=int(state["step"]), micro_step=int(state["micro_step"]), path=path)
