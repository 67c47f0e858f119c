"""Checkpoints that are models: loadable as they are, and exact to resume on any number of ranks.

Layout of ``<run>/checkpoints/step-00000120/`` (complete or absent: it is
built under a temporary name, fsynced, then renamed by
:func:`laconic.storage.atomic_directory`; only ``step-*`` names count)::

    the encoder        what SparseEncoder.from_pretrained reads:
                       LoRA: adapter_config.json + adapter_model.safetensors + laconic_config.json + tokenizer
                       full fine-tuning: config.json + model.safetensors + laconic_config.json + tokenizer
    trainable.pt       LoRA only: the adapter weights by encoder parameter name (exact resume)
    optimizer.pt       the consolidated optimiser state, keyed by parameter name
    scheduler.pt       LR scheduler state           scaler.pt   fp16 loss-scaler state (fp16 runs)
    rng.pt             {"ranks": [python / numpy / torch generator states of rank 0, 1, ...]}
    state.json         {"format", "step", "micro_step", "world_size", "config"}

Weights and optimiser state are gathered whole (see :mod:`.distributed`), so
a checkpoint written by 32 FSDP ranks loads in one process, and
``final/`` is the last checkpoint's encoder files (hard links, no copy).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from laconic.errors import LaconicError
from laconic.storage import atomic_directory

FORMAT = 2
_STEP_DIR = re.compile(r"^step-(\d+)$")
_RESUME_FILES = ("trainable.pt", "optimizer.pt", "scheduler.pt", "scaler.pt", "rng.pt", "state.json")


@dataclass
class TrainingState:
    """Everything besides the encoder files that a resumed run needs."""

    step: int  # optimiser steps done
    micro_step: int  # micro-batches consumed (data position, the same on every rank)
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: list[dict[str, Any]]  # one entry per rank
    config: dict[str, Any] = field(default_factory=dict)
    trainable: dict[str, torch.Tensor] | None = None  # None: read the weights from the encoder files
    scaler: dict[str, Any] | None = None
    path: Path | None = None

    @property
    def world_size(self) -> int:
        return len(self.rng)


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


def save_checkpoint(
    run_dir: str | Path, state: TrainingState, *, keep: int, write_encoder: Callable[[Path], None] | None = None
) -> Path:
    """Write ``checkpoints/step-<step>`` atomically (main process only), then drop all but the last ``keep``.

    ``write_encoder(directory)`` writes the loadable encoder files into the
    checkpoint being built.
    """
    target = Path(run_dir) / "checkpoints" / f"step-{state.step:08d}"
    with atomic_directory(target) as tmp:
        if write_encoder is not None:
            write_encoder(tmp)
        if state.trainable is not None:
            torch.save(state.trainable, tmp / "trainable.pt")
        torch.save(state.optimizer, tmp / "optimizer.pt")
        torch.save(state.scheduler, tmp / "scheduler.pt")
        if state.scaler is not None:
            torch.save(state.scaler, tmp / "scaler.pt")
        torch.save({"ranks": state.rng}, tmp / "rng.pt")
        meta = {"format": FORMAT, "step": state.step, "micro_step": state.micro_step,
                "world_size": state.world_size, "config": state.config}
        (tmp / "state.json").write_text(json.dumps(meta, indent=2))
    for old in checkpoint_dirs(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(path: str | Path) -> TrainingState:
    """Read a checkpoint written by :func:`save_checkpoint` (weights stay on CPU).

    Full fine-tuning checkpoints hold no ``trainable.pt``: the weights are read
    from the encoder's safetensors files, named as ``SparseEncoder`` names them.
    """
    path = Path(path)
    try:
        meta = json.loads((path / "state.json").read_text())
        if meta.get("format") != FORMAT:
            raise LaconicError(f"{path}: checkpoint format {meta.get('format', 1)} (this laconic reads {FORMAT}): "
                               "resume it with the laconic that wrote it, or start the run again")
        trainable = (torch.load(path / "trainable.pt", map_location="cpu", weights_only=True)
                     if (path / "trainable.pt").is_file() else _encoder_weights(path))
        optimizer = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=False)
        scheduler = torch.load(path / "scheduler.pt", map_location="cpu", weights_only=False)
        scaler = torch.load(path / "scaler.pt", map_location="cpu", weights_only=False) if (path / "scaler.pt").is_file() else None
        rng = torch.load(path / "rng.pt", map_location="cpu", weights_only=False)["ranks"]
        return TrainingState(step=int(meta["step"]), micro_step=int(meta["micro_step"]), optimizer=optimizer,
                             scheduler=scheduler, rng=rng, config=meta.get("config", {}), trainable=trainable,
                             scaler=scaler, path=path)
    except LaconicError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise LaconicError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None


def _encoder_weights(path: Path) -> dict[str, torch.Tensor]:
    """A full fine-tuning checkpoint's weights as ``SparseEncoder`` parameter names (``model.`` + HF name)."""
    from safetensors.torch import load_file

    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise LaconicError(f"{path}: checkpoint holds neither trainable.pt nor *.safetensors weights")
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        weights.update({f"model.{name}": value for name, value in load_file(str(file)).items()})
    return weights


def link_encoder_files(checkpoint: Path, target: Path) -> Path:
    """``target`` := the checkpoint's encoder files (hard links where the file system allows), atomically."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    with atomic_directory(target) as tmp:
        shutil.copytree(checkpoint, tmp, dirs_exist_ok=True, copy_function=link,
                        ignore=lambda _d, names: [n for n in names if n in _RESUME_FILES])
    return target
