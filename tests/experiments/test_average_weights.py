"""`experiments/average_weights.py`: the output's weights are the element-wise mean of its inputs'."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from laconic import SparseEncoder
from tests.conftest import build_tiny_llama

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "average_weights.py"


def _weights(path: Path) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for f in sorted(path.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_mean_of_three_seeds_and_the_first_inputs_settings(tiny_llama_dir, tmp_path):
    tokenizer_len = len(SparseEncoder.from_pretrained(str(tiny_llama_dir)).tokenizer)
    dirs = []
    for seed in (1, 2, 3):  # same architecture, different weights, as runs of different seeds end
        d = tmp_path / f"m{seed}"
        shutil.copytree(tiny_llama_dir, d)
        build_tiny_llama(d, vocab_size=tokenizer_len, seed=seed)
        dirs.append(d)
    out = tmp_path / "soup"
    proc = _run(*map(str, dirs), "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]

    inputs = [_weights(d) for d in dirs]
    averaged = SparseEncoder.from_pretrained(str(out), tokenizer=str(tiny_llama_dir), dtype="float32")
    state = averaged.model.state_dict()
    assert set(state) == set(inputs[0])
    for name in inputs[0]:  # the oracle: the mean of the raw files, read without laconic
        expected = (inputs[0][name].double() + inputs[1][name].double() + inputs[2][name].double()) / 3
        torch.testing.assert_close(state[name].double(), expected, rtol=0, atol=1e-6)
    assert not torch.equal(inputs[0]["lm_head.weight"], inputs[1]["lm_head.weight"])  # the inputs did differ
    vecs = averaged.encode(["a short passage"], "document")
    assert vecs.indptr[-1] > 0


def test_refuses_encoders_of_different_architectures(tiny_llama_dir, tmp_path):
    tokenizer_len = len(SparseEncoder.from_pretrained(str(tiny_llama_dir)).tokenizer)
    other = tmp_path / "three-layers"
    shutil.copytree(tiny_llama_dir, other)
    build_tiny_llama(other, vocab_size=tokenizer_len, layers=3)
    out = tmp_path / "soup"
    proc = _run(str(tiny_llama_dir), str(other), "-o", str(out))
    assert proc.returncode != 0 and "only runs of one architecture average" in proc.stderr
    assert not out.exists()
