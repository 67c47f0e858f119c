"""Two CPU processes under torchrun (DDP, gloo) train exactly like one process with the doubled batch.

Marked slow (two extra interpreters): ``pytest -m slow tests/training/test_ddp.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from laconic.training.config import resolve_config
from laconic.training.loop import train
from laconic.training.tracking import read_metrics


@pytest.mark.slow
def test_ddp_two_processes_match_single_process(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    common = dict(max_steps=3, lr=5e-3, lora_r=4, lora_alpha=8, gradcache=True, gradcache_chunk_size=3,
                  query_max_length=16, document_max_length=32, max_grad_norm=0.0)
    single = train(resolve_config("laconic-1b-phase1", overrides=tiny_overrides(
        tiny_llama_dir, pairs_file, tmp_path / "single", batch_size=8, **common)))

    flags = []
    for key, value in tiny_overrides(tiny_llama_dir, pairs_file, tmp_path / "ddp", batch_size=4, **common).items():
        flag = "--" + key.replace("_", "-")
        flags += [flag if value else "--no-" + flag[2:]] if isinstance(value, bool) else [flag, str(value)]
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "laconic", "train",
           "--preset", "laconic-1b-phase1", *flags]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # the loss sees all 8 queries' passages (gathered), as the single process does
    ranking_ddp = [r["ranking"] for r in read_metrics(tmp_path / "ddp")]
    ranking_one = [r["ranking"] for r in read_metrics(single)]
    assert ranking_ddp == pytest.approx(ranking_one, rel=1e-4)
    a = torch.load(single / "final" / "trainable.pt")
    b = torch.load(tmp_path / "ddp" / "final" / "trainable.pt")
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-3, atol=1e-5, msg=name)
