"""The synthetic collection generator (benchmarks/synthetic.py) at tiny scale.

The benchmark's conclusions are only as good as the data's resemblance to
learned sparse vectors, so these tests pin the properties the docstring
promises: valid CSR, the non-zero counts, positive log1p-shaped weights, Zipfian
posting skew, topical co-occurrence, seeding and the cache.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from laconic.sparse import SparseVectors

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "synthetic.py"


@pytest.fixture(scope="module")
def syn():
    spec = importlib.util.spec_from_file_location("bench_synthetic", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synthetic"] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cfg(syn):
    # the real vocabulary, fewer topics so a few thousand documents cover them
    return syn.SyntheticConfig(n_topics=50)


@pytest.fixture(scope="module")
def docs(syn, cfg):
    return syn.generate_documents(cfg, 3_000, seed=7, show_progress=False)


@pytest.fixture(scope="module")
def queries(syn, cfg):
    return syn.generate_queries(cfg, 200, seed=7)


def _valid(v: SparseVectors) -> None:
    # re-run the type's own validation (sorted unique ids, in range, finite)
    SparseVectors(v.indptr, v.indices, v.values, v.vocab_size)


def test_vectors_are_valid_csr_with_positive_bounded_weights(docs, queries, cfg):
    for v in (docs, queries):
        _valid(v)
        assert v.vocab_size == cfg.vocab_size == 128_256
        assert v.values.dtype == np.float32
        assert v.values.min() > 0
        # log1p-shaped: most mass in 0-3, a thin tail, nothing absurd
        assert np.quantile(v.values, 0.95) < 3.0
        assert v.values.max() < 8.0
        assert 0.5 < v.values.mean() < 2.0


def test_nonzero_counts_are_lognormal_around_targets_and_clipped(docs, queries, cfg):
    d, q = docs.row_nnz(), queries.row_nnz()
    assert d.min() >= 1 and d.max() <= cfg.max_nnz
    assert 130 <= d.mean() <= 170, d.mean()
    assert 32 <= q.mean() <= 48, q.mean()
    # right-skewed like a log-normal: mean above median, a real spread
    assert d.mean() > np.median(d)
    assert d.std() / d.mean() > 0.3


def test_term_popularity_is_zipfian(docs):
    df = np.sort(np.bincount(docs.indices, minlength=docs.vocab_size))[::-1]
    top = df[: docs.vocab_size // 100].sum() / df.sum()
    assert top > 0.15, top  # the top 1% of terms hold a large share of postings
    assert df[0] > 0.3 * len(docs)  # some stop-word-like terms are in most documents
    assert (df > 0).sum() > 20_000  # ... while the long tail is still used


def test_topical_terms_weigh_more_and_topics_co_occur(syn, cfg):
    model = syn.build_topic_model(cfg, seed=3)
    rng = np.random.default_rng(0)
    v, topics = syn.sample_vectors(
        model, cfg, 400, rng, nnz_mean=150, n_topics=1, topical=0.6, return_topics=True
    )
    # vectors sharing their (single) topic overlap far more than vectors that do not
    dots = (v.to_scipy() @ v.to_scipy().T).toarray()
    same = topics[:, 0][:, None] == topics[:, 0][None, :]
    np.fill_diagonal(same, False)
    off_diag = ~np.eye(len(v), dtype=bool)
    assert same.any()
    assert dots[same].mean() > 2 * dots[off_diag & ~same].mean()
    # a vector's own-topic terms carry more weight than its other terms
    row = np.repeat(np.arange(len(v)), v.row_nnz())
    own = np.zeros(v.nnz, bool)
    for t in np.unique(topics):  # a loop over topics, not documents
        members = np.isin(row, np.flatnonzero(topics[:, 0] == t))
        own |= members & np.isin(v.indices, model.topic_terms[t])
    assert v.values[own].mean() > 1.2 * v.values[~own].mean()


def test_queries_match_documents_like_real_queries(docs, queries):
    scores = (queries.to_scipy() @ docs.to_scipy().T).toarray()
    top = np.sort(scores, axis=1)[:, ::-1]
    # every query matches something, and its best documents stand out from the bulk
    assert (top[:, 0] > 0).all()
    assert np.median(top[:, 0] / np.maximum(np.median(scores, axis=1), 1e-6)) > 3


def test_seeded_deterministic_and_prefix_stable(syn, cfg, docs, monkeypatch):
    again = syn.generate_documents(cfg, 3_000, seed=7, show_progress=False)
    assert np.array_equal(again.indptr, docs.indptr)
    assert np.array_equal(again.indices, docs.indices)
    assert np.array_equal(again.values, docs.values)
    other = syn.generate_documents(cfg, 3_000, seed=8, show_progress=False)
    assert not np.array_equal(other.indices[:1000], docs.indices[:1000])
    # chunked generation: the first N documents of a bigger collection are the N-document one (N whole chunks)
    monkeypatch.setattr(syn, "CHUNK_DOCS", 1_000)
    small = syn.generate_documents(cfg, 2_000, seed=7, show_progress=False)
    big = syn.generate_documents(cfg, 2_500, seed=7, show_progress=False)
    head = big[:2_000]
    assert np.array_equal(head.indptr, small.indptr)
    assert np.array_equal(head.indices, small.indices)
    assert np.array_equal(head.values, small.values)


def test_cache_roundtrip(syn, cfg, tmp_path):
    d1, q1 = syn.load_or_generate(tmp_path, 500, 20, seed=1, cfg=cfg, show_progress=False)
    files = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert len(files) == 2 and all(f.startswith(f"synthetic-v{syn.GENERATOR_VERSION}") for f in files)
    d2, q2 = syn.load_or_generate(tmp_path, 500, 20, seed=1, cfg=cfg, show_progress=False)
    assert np.array_equal(d1.indices, d2.indices) and np.array_equal(q1.values, q2.values)
    # a different model configuration never reads another's cache
    syn.load_or_generate(tmp_path, 500, 20, seed=1, cfg=syn.SyntheticConfig(n_topics=51), show_progress=False)
    assert len(list(tmp_path.glob("*.npz"))) == 4


def test_describe_reports_statistics(syn, docs):
    stats = syn.describe(docs)
    assert stats["vectors"] == len(docs)
    assert stats["nnz_mean"] == pytest.approx(docs.nnz / len(docs))
    assert 0 < stats["top1pct_term_share"] < 1
    assert stats["longest_posting"] <= len(docs)
