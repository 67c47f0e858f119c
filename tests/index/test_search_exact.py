"""Exact mode against the exhaustive oracle: every layout, bit width and query shape."""

from __future__ import annotations

import numpy as np
import pytest

from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors

from index_oracle import assert_matches_oracle, oracle


@pytest.mark.parametrize("bits", [8, 16, 32])
@pytest.mark.parametrize("reorder", ["seeds", "bp", "terms", "none"])
def test_exact_equals_brute_force_realistic(realistic, bits, reorder):
    docs, queries = realistic
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits, reorder=reorder))
    want_ids, want_scores = oracle(index, queries, 10)
    assert_matches_oracle(index.search(queries, k=10), want_ids, want_scores)
    single = [index.search(queries[i], k=10, threads=1) for i in range(len(queries))]
    for i, r in enumerate(single):
        assert r.ids[0] == index.search(queries, k=10).ids[i] or np.allclose(r.scores[0], want_scores[i], rtol=1e-5)


@pytest.mark.parametrize("block_size", [1, 7, 32, 128])
def test_exact_any_block_size_and_shards(small_random, block_size):
    docs, queries = small_random
    index = SparseIndex.build(docs, config=BuildConfig(block_size=block_size, shards=3))
    assert index.stats()["segments"] >= 2
    want_ids, want_scores = oracle(index, queries, 7)
    assert_matches_oracle(index.search(queries, k=7), want_ids, want_scores)
    for threads in (1, 2):
        for i in (0, 5):
            r = index.search(queries[i], k=7, threads=threads)
            np.testing.assert_allclose(r.scores[0], want_scores[i], rtol=1e-5)


def test_exhaustive_mode_is_the_oracle(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    want_ids, want_scores = oracle(index, queries, 20)
    assert_matches_oracle(index.search(queries, k=20, mode="exhaustive"), want_ids, want_scores)


def test_k_larger_than_matches_and_empty_and_absent_terms():
    docs = SparseVectors.from_dicts([{1: 1.0}, {1: 2.0, 2: 1.0}, {3: 1.0}, {}], vocab_size=10, ids=list("abcd"))
    index = SparseIndex.build(docs)
    q = SparseVectors.from_dicts([{1: 1.0}, {}, {9: 5.0}, {0: 1.0, 1: 1.0, 2: 1.0}], vocab_size=10)
    r = index.search(q, k=100)
    assert r.ids == [["b", "a"], [], [], ["b", "a"]]
    np.testing.assert_allclose(r.scores[3], [3.0, 1.0], rtol=1e-2)
    assert r.scores[1].dtype == np.float32 and r.scores[1].size == 0
    assert index.search(q[1], k=5).ids == [[]]


def test_ties_break_by_insertion_order_despite_reordering():
    rng = np.random.default_rng(0)
    rows = [{int(t): 1.0 for t in rng.choice(50, 5, replace=False)} for _ in range(300)]
    rows += [{7: 1.0, 8: 1.0}] * 40  # 40 identical documents: pure ties
    docs = SparseVectors.from_dicts(rows, vocab_size=50)
    for reorder in ("seeds", "bp", "none"):
        index = SparseIndex.build(docs, config=BuildConfig(block_size=4, reorder=reorder))
        q = SparseVectors.from_dicts([{7: 1.0, 8: 1.0}], vocab_size=50)
        want_ids, _ = oracle(index, q, 15)
        assert index.search(q, k=15).ids == want_ids
        assert index.search(q, k=15, mode="exhaustive").ids == want_ids


def test_eight_bit_keeps_recall_against_float(realistic):
    docs, queries = realistic
    float_ids, _ = oracle(SparseIndex.build(docs, config=BuildConfig(weight_bits=32)), queries, 10)
    got = SparseIndex.build(docs).search(queries, k=10).ids
    recall = np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(got, float_ids)])
    assert recall >= 0.99


def test_float32_index_scores_are_the_float_dot_products(small_random):
    docs, queries = small_random
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=32))
    dense = (queries.to_scipy() @ docs.to_scipy().T).toarray()
    r = index.search(queries, k=5)
    for i in range(len(queries)):
        np.testing.assert_allclose(r.scores[i], np.sort(dense[i])[::-1][: r.scores[i].size], rtol=1e-5)


def test_huge_k_is_capped_and_negative_query_weights_refused():
    index = SparseIndex.build(SparseVectors.from_dicts([{1: 1.0}, {2: 1.0}], vocab_size=4, ids=["a", "b"]))
    assert index.search(SparseVectors.from_dicts([{1: 1.0}], vocab_size=4), k=10**12).ids == [["a"]]
    with pytest.raises(ValueError, match="query 1 has a negative"):
        index.search(SparseVectors.from_dicts([{1: 1.0}, {1: -1.0, 2: 1.0}], vocab_size=4), k=2)


def test_query_vocab_mismatch_and_bad_arguments(small_random):
    docs, _ = small_random
    index = SparseIndex.build(docs)
    with pytest.raises(ValueError, match="vocab_size"):
        index.search(SparseVectors.empty(7, 1), k=3)
    with pytest.raises(ValueError, match="k must be"):
        index.search(SparseVectors.empty(200, 1), k=0)
    with pytest.raises(ValueError, match="mode"):
        index.search(SparseVectors.empty(200, 1), mode="fuzzy")


@pytest.mark.parametrize("block_size", [4, 16])
def test_long_queries_take_the_forward_list_path_and_stay_exact(block_size):
    """~300-term queries over hundreds of blocks: many blocks stay above the k-th score after the
    warm-up, so blocks are scored from per-query forward lists; results must not change."""
    from index_oracle import zipf_topic_vectors

    docs = zipf_topic_vectors(3000, 2000, 60, seed=21)
    queries = zipf_topic_vectors(30, 2000, 300, seed=22).with_ids(None)
    assert np.median(queries.row_nnz()) > 150
    index = SparseIndex.build(docs, config=BuildConfig(block_size=block_size))
    assert index.stats()["blocks"] >= 180
    got = index.search(queries, k=10)
    assert_matches_oracle(got, *oracle(index, queries, 10))
    full = index.search(queries, k=10, mode="exhaustive")
    assert got.ids == full.ids  # same arithmetic in the same order: bit-identical scores
    assert all(np.array_equal(a, b) for a, b in zip(got.scores, full.scores))
    one = [index.search(queries[i], k=10, threads=1) for i in range(len(queries))]
    assert [r.ids[0] for r in one] == got.ids
