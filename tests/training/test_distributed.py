"""Two CPU processes (gloo) under ``accelerate launch`` with the shipped configs: FSDP and DDP.

Each run uses a shipped file from ``configs/accelerate/`` with only the hardware
fields changed (CPU, 2 processes, no autocast). The oracles are a single
process with the doubled batch (same global batch) and, for resume, the same
launch left uninterrupted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from laconic.training import checkpoint as ckpt
from laconic.training.config import resolve_config
from laconic.training.loop import train
from laconic.training.tracking import read_metrics

ROOT = Path(__file__).resolve().parents[2]
CRASH_SCRIPT = Path(__file__).with_name("crash_train.py")
COMMON = dict(max_steps=4, save_every=2, lr=5e-3, lora_r=4, lora_alpha=8, query_max_length=16,
              document_max_length=32, max_grad_norm=0.0, warmup_ratio=0.25)
TEXTS = ["vitamin d deficiency and bone loss", "statins reduce cholesterol and the risk of heart disease"]


def cpu_variant(name: str, tmp_path: Path) -> Path:
    """The shipped accelerate config with the hardware fields set for this machine."""
    config = yaml.safe_load((ROOT / "configs" / "accelerate" / f"{name}.yaml").read_text())
    config.update(use_cpu=True, num_processes=2, mixed_precision="no")
    path = tmp_path / f"{name}-cpu.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(accelerate_config: Path, overrides: dict, *, crash_after: int | None = None) -> subprocess.CompletedProcess:
    flags = []
    for key, value in overrides.items():
        flag = "--" + key.replace("_", "-")
        flags += [flag if value else "--no-" + flag[2:]] if isinstance(value, bool) else [flag, str(value)]
    target = [str(CRASH_SCRIPT)] if crash_after is not None else ["-m", "laconic"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if crash_after is not None:
        env["CRASH_AFTER_STEP"] = str(crash_after)
    # A free port per launch instead of accelerate's fixed default (29500). In one full-suite run a rank
    # of the first FSDP launch aborted ("terminate called without an active exception") where the test
    # passed alone three times; a rendezvous port still held by an earlier launch fails that way, so no
    # launch shares a port with another any more. The cause of that run's abort was not proven.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config),
           "--main_process_port", str(free_port()), *target, "train", "--preset", "laconic-1b-phase1", *flags]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def vectors(path: Path) -> torch.Tensor:
    from laconic.encoder import SparseEncoder

    encoder = SparseEncoder.from_pretrained(path, device="cpu", dtype="float32")
    return torch.tensor(encoder.encode_documents(TEXTS, show_progress=False).to_dense())


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    name = "adapter_model.safetensors" if (run / "final" / "adapter_config.json").is_file() else "model.safetensors"
    return load_file(run / "final" / name)


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
def test_fsdp_shards_and_trains_like_one_process(lora, tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    from laconic.training.adapters import merge_run

    settings = dict(COMMON, lora=lora, gradcache=True, gradcache_chunk_size=3)
    single = train(resolve_config("laconic-1b-phase1", overrides=tiny_overrides(
        tiny_llama_dir, pairs_file, tmp_path / "single", batch_size=8, **settings)))
    run = tmp_path / "fsdp"
    proc = launch(cpu_variant("fsdp", tmp_path), tiny_overrides(tiny_llama_dir, pairs_file, run, batch_size=4, **settings))
    assert proc.returncode == 0, proc.stderr[-3000:]

    # really sharded: each rank holds half of the trainable weights and of the Adam moments
    report = json.loads((run / "distributed.json").read_text())
    total = sum(v.numel() for v in final_weights(single).values())
    assert report["distributed_type"] == "FSDP" and report["world_size"] == 2
    assert sum(report["trainable_elements"]) == total
    for held, moments in zip(report["trainable_elements"], report["optimizer_elements"]):
        assert abs(held - total / 2) <= 0.05 * total and moments == 2 * held

    # the same loss curve as one process with the same global batch
    got, want = read_metrics(run), read_metrics(single)
    assert [r["ranking"] for r in got] == pytest.approx([r["ranking"] for r in want], rel=1e-4)
    assert [r["nnz_d"] for r in got] == pytest.approx([r["nnz_d"] for r in want], rel=1e-2)  # counts: weights near 0 may flip

    # final/ and each checkpoint are whole encoders, equal to the single-process result
    torch.testing.assert_close(vectors(run / "final"), vectors(single / "final"), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(vectors(ckpt.checkpoint_dirs(run)[0]), vectors(ckpt.checkpoint_dirs(single)[0]),
                               rtol=1e-4, atol=1e-5)
    merged = merge_run(run, tmp_path / "merged")
    torch.testing.assert_close(vectors(merged), vectors(run / "final"), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(vectors(run / "final"), vectors(tiny_llama_dir), atol=1e-3)  # it trained


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
def test_fsdp_killed_and_resumed_equals_uninterrupted(lora, tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    """LoRA dropout and per-rank random streams: each rank must get its own state back."""
    config = cpu_variant("fsdp", tmp_path)
    settings = dict(COMMON, lora=lora, lora_dropout=0.1, batch_size=4, gradcache=True, gradcache_chunk_size=3)
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    proc = launch(config, tiny_overrides(tiny_llama_dir, pairs_file, straight, **settings))
    assert proc.returncode == 0, proc.stderr[-3000:]

    killed = launch(config, tiny_overrides(tiny_llama_dir, pairs_file, broken, **settings), crash_after=2)
    assert killed.returncode != 0 and not (broken / "final").exists()
    assert [p.name for p in ckpt.checkpoint_dirs(broken)] == ["step-00000002"]
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(broken))
    assert state.world_size == 2 and not torch.equal(state.rng[0]["torch"], state.rng[1]["torch"])

    resumed = launch(config, tiny_overrides(tiny_llama_dir, pairs_file, broken, resume=True, **settings))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = final_weights(straight), final_weights(broken)
    assert a.keys() == b.keys()
    for name in a:  # same reductions in the same order: bit for bit
        assert torch.equal(b[name], a[name]), name
    assert [r["ranking"] for r in read_metrics(broken)] == [r["ranking"] for r in read_metrics(straight)]


def test_ddp_killed_resumed_and_equal_to_one_process(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    settings = dict(COMMON, gradcache=True, gradcache_chunk_size=3)
    single = train(resolve_config("laconic-1b-phase1", overrides=tiny_overrides(
        tiny_llama_dir, pairs_file, tmp_path / "single", batch_size=8, **settings)))
    config, run = cpu_variant("ddp", tmp_path), tmp_path / "ddp"
    killed = launch(config, tiny_overrides(tiny_llama_dir, pairs_file, run, batch_size=4, **settings), crash_after=2)
    assert killed.returncode != 0 and not (run / "final").exists()
    proc = launch(config, tiny_overrides(tiny_llama_dir, pairs_file, run, batch_size=4, resume=True, **settings))
    assert proc.returncode == 0, proc.stderr[-3000:]

    report = json.loads((run / "distributed.json").read_text())
    total = sum(v.numel() for v in final_weights(single).values())
    assert report["distributed_type"] == "MULTI_CPU" and report["trainable_elements"] == [total, total]  # replicated
    assert [r["ranking"] for r in read_metrics(run)] == pytest.approx([r["ranking"] for r in read_metrics(single)], rel=1e-4)
    a, b = final_weights(single), final_weights(run)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-3, atol=1e-5, msg=name)


def test_resume_with_another_process_count_is_refused(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    """A checkpoint from 2 ranks holds 2 random streams and a 2-rank data order: one process cannot continue it."""
    from laconic.errors import ConfigError

    settings = dict(COMMON, batch_size=4)
    run = tmp_path / "run"
    killed = launch(cpu_variant("ddp", tmp_path), tiny_overrides(tiny_llama_dir, pairs_file, run, **settings), crash_after=2)
    assert killed.returncode != 0
    with pytest.raises(ConfigError, match="2 processes"):
        train(resolve_config("laconic-1b-phase1", overrides=tiny_overrides(tiny_llama_dir, pairs_file, run, resume=True,
                                                                            **settings)))
