"""The merge policy for ``add``: few segments after many adds, same answers as brute force, tombstones dropped."""

from __future__ import annotations

import numpy as np
import pytest
from index_oracle import assert_matches_oracle, brute_force, zipf_topic_vectors

from laconic.errors import ConfigError
from laconic.index import BuildConfig, SparseIndex
from laconic.index.merge import plan_merge, size_class


def test_size_classes_and_plan_by_hand():
    assert [size_class(n, 10) for n in (0, 1, 9, 10, 99, 100, 999, 1000)] == [0, 0, 0, 1, 1, 2, 2, 3]
    assert [size_class(n, 4) for n in (3, 4, 15, 16, 64)] == [0, 1, 1, 2, 3]
    assert plan_merge([5000, 20, 20], 3) == 0  # the newest three are not one class
    assert plan_merge([5000, 30, 40, 80], 3) == 3  # 27 <= n < 81: all class 3 for factor 3
    assert plan_merge([5000, 20, 30, 90], 3) == 0  # classes 2, 3, 4
    assert plan_merge([20, 30], 3) == 0  # fewer than factor segments
    assert plan_merge([10, 10, 10], 0) == 0  # never merge


def test_plan_matches_the_definition_on_random_sizes():
    rng = np.random.default_rng(0)
    for _ in range(300):
        factor = int(rng.integers(2, 6))
        sizes = rng.integers(0, 500, size=int(rng.integers(0, 9))).tolist()
        classes = [int(np.floor(np.log(n) / np.log(factor) + 1e-12)) if n > 1 else 0 for n in sizes]
        expect = factor if len(sizes) >= factor and len(set(classes[-factor:])) == 1 else 0
        assert plan_merge(sizes, factor) == expect, (sizes, factor)


def test_many_small_adds_stay_few_segments_and_exact(tmp_path):
    docs = zipf_topic_vectors(1300, 800, 25, seed=8)
    queries = zipf_topic_vectors(20, 800, 8, seed=9).with_ids(None)
    config = BuildConfig(weight_bits=32, block_size=16, merge_factor=4)
    index = SparseIndex.build(docs[:300], config=config)
    for a in range(300, 1300, 10):  # 100 adds of 10 documents
        index.add(docs[a:a + 10])
    n_segments = index.stats()["segments"]
    # at most factor - 1 segments per size class (classes 0..5 for 1,300 docs and factor 4), plus the first build
    assert n_segments <= 3 * 6 + 1, n_segments
    assert_matches_oracle(index.search(queries, k=10), *brute_force(queries, docs, 10))
    assert index.ids() == list(docs.ids)  # insertion order and ids survive the merges


def test_merges_drop_deleted_documents(tmp_path):
    docs = zipf_topic_vectors(400, 500, 20, seed=10)
    queries = zipf_topic_vectors(15, 500, 6, seed=11).with_ids(None)
    index = SparseIndex.build(docs[:100], config=BuildConfig(weight_bits=32, merge_factor=3))
    gone = [f"d{i}" for i in range(100, 400, 7)]
    for a in range(100, 400, 20):
        index.add(docs[a:a + 20])
        index.delete([d for d in gone if int(d[1:]) < a + 20])
    stored = index.stats()["postings"]
    live = docs[[i for i, d in enumerate(docs.ids) if d not in set(gone)]]
    assert len(index) == len(live)
    assert stored < docs.nnz  # merged segments no longer hold the deleted documents' postings
    assert_matches_oracle(index.search(queries, k=10), *brute_force(queries, live, 10))
    index.save(tmp_path / "i")
    reopened = SparseIndex.open(tmp_path / "i", verify=True)
    assert_matches_oracle(reopened.search(queries, k=10), *brute_force(queries, live, 10))
    index.add(docs[:0].with_ids([]))  # a no-op add changes nothing


def test_merge_factor_zero_never_merges_and_bad_values_are_refused():
    docs = zipf_topic_vectors(100, 300, 10, seed=12)
    index = SparseIndex.build(docs[:10], config=BuildConfig(merge_factor=0))
    for a in range(10, 100, 10):
        index.add(docs[a:a + 10])
    assert index.stats()["segments"] == 10
    with pytest.raises(ConfigError, match="merge_factor"):
        BuildConfig(merge_factor=1)
