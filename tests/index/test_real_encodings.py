"""The index on real encoded data: SciFact documents and test queries encoded by the shipped model.

Synthetic vectors (``realistic``) exercise the kernels at scale; this checks the
same guarantees on what users actually index: exact mode equals brute force over
the stored weights, the 8-bit index keeps recall against float brute force, and
the approximate defaults keep recall against exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from laconic.index import BuildConfig, SparseIndex

from index_oracle import assert_matches_oracle, oracle

MODEL = Path(__file__).resolve().parents[2] / "models" / "laconic-minilm"


def _recall(got: list[list[str]], want: list[list[str]]) -> float:
    hits = sum(len(set(g) & set(w)) for g, w in zip(got, want))
    return hits / max(sum(len(w) for w in want), 1)


@pytest.fixture(scope="module")
def scifact_vectors(beir_dir):
    from laconic.encoder import SparseEncoder
    from laconic.evaluation import load_beir

    data = load_beir(beir_dir / "scifact", "test").subset(240, max_queries=60, seed=0)
    # 128 terms per vector (the model ships with 48) makes the lists longer and the test harder.
    encoder = SparseEncoder.from_pretrained(MODEL, device="cpu", max_terms=128)
    docs = encoder.encode_documents(data.documents, ids=data.doc_ids, max_length=128, show_progress=False)
    queries = encoder.encode_queries(data.queries, ids=data.query_ids, max_length=64, show_progress=False)
    return docs, queries


def test_real_vectors_look_like_learned_sparse_vectors(scifact_vectors):
    docs, queries = scifact_vectors
    assert len(docs) == 240 and len(queries) > 0
    assert docs.row_nnz().max() <= 128 and docs.values.min() > 0


@pytest.mark.parametrize("bits", [8, 32])
def test_exact_equals_brute_force_on_real_encodings(scifact_vectors, bits):
    docs, queries = scifact_vectors
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits, block_size=16))
    want_ids, want_scores = oracle(index, queries, 10)
    assert_matches_oracle(index.search(queries, k=10, mode="exact"), want_ids, want_scores)
    # k beyond the number of matching documents returns every match, best first
    deep = index.search(queries[:3], k=len(docs) + 50)
    for scores in deep.scores:
        assert np.all(np.diff(scores) <= 0) and len(scores) <= len(docs)


def test_eight_bit_and_approximate_keep_recall_on_real_encodings(scifact_vectors):
    docs, queries = scifact_vectors
    dense = queries.to_scipy() @ docs.to_scipy().T
    float_top = []
    for row in dense.toarray():
        order = np.argsort(-row, kind="stable")[:10]
        float_top.append([docs.ids[i] for i in order if row[i] > 0])
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=8, block_size=16))
    exact = index.search(queries, k=10, mode="exact")
    assert _recall(exact.ids, float_top) >= 0.99
    approx = index.search(queries, k=10, mode="approximate")
    assert _recall(approx.ids, exact.ids) >= 0.99
