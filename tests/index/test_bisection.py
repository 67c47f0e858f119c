"""Recursive graph bisection (``reorder="bp"``): planted clusters recovered, any thread count, exact search unchanged."""

from __future__ import annotations

import numpy as np

from laconic.index import BuildConfig, SparseIndex
from laconic.index.bisection import bisection_order
from laconic.sparse import SparseVectors

from index_oracle import assert_matches_oracle, oracle


def planted(topics: int, per_topic: int, seed: int = 0) -> tuple[SparseVectors, np.ndarray]:
    """Documents of ``topics`` disjoint 20-term vocabularies (8 terms each), shuffled; and each row's topic."""
    rng = np.random.default_rng(seed)
    topic = rng.permutation(np.repeat(np.arange(topics), per_topic))
    rows = [{int(20 * t + x): float(rng.uniform(0.1, 2.0)) for x in rng.choice(20, 8, replace=False)} for t in topic]
    return SparseVectors.from_dicts(rows, vocab_size=20 * topics), topic


def test_bisection_recovers_planted_topics_block_by_block():
    docs, topic = planted(topics=8, per_topic=64)
    start = np.random.default_rng(1).permutation(len(docs))
    blocks_before = topic[start].reshape(8, 64)
    assert sum(len(set(b)) == 1 for b in blocks_before) == 0  # the shuffled start mixes every block
    order = bisection_order(docs.indptr, docs.indices, start, docs.vocab_size, block_size=64)
    assert np.array_equal(np.sort(order), np.arange(len(docs)))  # a permutation
    blocks = topic[order].reshape(8, 64)
    assert all(len(set(b)) == 1 for b in blocks), [np.bincount(b, minlength=8).tolist() for b in blocks]


def test_bisection_is_the_same_on_any_number_of_threads(realistic):
    docs, _ = realistic
    start = np.arange(len(docs))
    one = bisection_order(docs.indptr, docs.indices, start, docs.vocab_size, block_size=16, workers=1)
    two = bisection_order(docs.indptr, docs.indices, start, docs.vocab_size, block_size=16, workers=2)
    three = bisection_order(docs.indptr, docs.indices, start, docs.vocab_size, block_size=16, workers=3)
    assert np.array_equal(one, two) and np.array_equal(one, three)
    assert not np.array_equal(one, start)


def test_bisection_lowers_pairs_and_keeps_exact_search_exact(realistic):
    docs, queries = realistic
    seeds = SparseIndex.build(docs, config=BuildConfig(block_size=16, reorder="seeds"))
    bp = SparseIndex.build(docs, config=BuildConfig(block_size=16, reorder="bp"))
    assert bp.stats()["term_block_pairs"] < seeds.stats()["term_block_pairs"]
    want_ids, want_scores = oracle(bp, queries, 10)
    assert_matches_oracle(bp.search(queries, k=10), want_ids, want_scores)
