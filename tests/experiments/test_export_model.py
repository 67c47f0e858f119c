"""`experiments/export_model.py`: the knobs it is given are the ones the exported model encodes with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from safetensors import safe_open

from laconic import SparseEncoder

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "export_model.py"


def test_export_sets_terms_lengths_bias_and_fp16(tiny_llama_dir, tmp_path):
    out = tmp_path / "exported"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tiny_llama_dir), str(out), "--max-terms", "7", "--max-length", "20",
         "--logit-bias", "-0.5", "--fp16"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = json.loads((out / "laconic_config.json").read_text())
    assert saved["logit_bias"] == -0.5
    assert saved["profile"]["max_terms"] == 7
    assert saved["profile"]["query_max_length"] == saved["profile"]["document_max_length"] == 20
    with safe_open(str(next(out.glob("*.safetensors"))), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
    enc = SparseEncoder.from_pretrained(str(out), tokenizer=str(tiny_llama_dir))
    vecs = enc.encode(["a rather long document " * 30, "short"], "document")
    assert max(vecs.indptr[1:] - vecs.indptr[:-1]) <= 7
    source = SparseEncoder.from_pretrained(str(tiny_llama_dir))
    assert source.tokenize(["word " * 100], "document")["input_ids"].shape[1] > 20  # the budget did change
    assert enc.tokenize(["word " * 100], "document")["input_ids"].shape[1] <= 20
