"""add / delete / compact against the oracle, and searches racing with writers."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from index_oracle import assert_matches_oracle, oracle, random_vectors

from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors


@pytest.fixture()
def index_and_queries(small_random):
    docs, queries = small_random
    return SparseIndex.build(docs, config=BuildConfig(block_size=8)), queries


def test_deleted_documents_never_come_back(index_and_queries):
    index, queries = index_and_queries
    before = index.search(queries, k=5)
    gone = sorted({i for ids in before.ids for i in ids[:2]})
    assert index.delete(gone + ["no-such-id"]) == len(gone)
    assert len(index) == 500 - len(gone)
    after = index.search(queries, k=5)
    assert not set(gone) & {i for ids in after.ids for i in ids}
    assert_matches_oracle(after, *oracle(index, queries, 5))
    assert index.delete(gone) == 0  # already deleted


def test_added_documents_are_searchable_at_once(index_and_queries):
    index, queries = index_and_queries
    extra = random_vectors(120, 200, 0.08, seed=11, prefix="new")
    index.add(extra)
    assert len(index) == 620 and index.stats()["segments"] == 2
    r = index.search(queries, k=10)
    assert any(i.startswith("new") for ids in r.ids for i in ids)
    assert_matches_oracle(r, *oracle(index, queries, 10))
    for i in range(3):  # the single-query path over several segments
        assert_matches_oracle(index.search(queries[i], k=10, threads=1), *oracle(index, queries[i], 10))


def test_add_rejects_duplicates_but_allows_readding_deleted(index_and_queries):
    index, _ = index_and_queries
    one = SparseVectors.from_dicts([{3: 1.0}], vocab_size=200)
    with pytest.raises(ValueError, match="already in the index"):
        index.add(one, ids=["d0"])
    with pytest.raises(ValueError, match="duplicate"):
        index.add(SparseVectors.concat([one, one]), ids=["x", "x"])
    with pytest.raises(ValueError, match="vocab_size"):
        index.add(SparseVectors.from_dicts([{3: 1.0}], vocab_size=10), ids=["y"])
    index.delete(["d0"])
    index.add(SparseVectors.from_dicts([{3: 100.0}], vocab_size=200), ids=["d0"])
    r = index.search(SparseVectors.from_dicts([{3: 1.0}], vocab_size=200), k=1)
    assert r.ids == [["d0"]] and r.scores[0][0] > 90


def test_compact_keeps_results_and_drops_tombstones(index_and_queries):
    index, queries = index_and_queries
    index.add(random_vectors(50, 200, 0.1, seed=12, prefix="n"))
    index.delete([f"d{i}" for i in range(0, 500, 3)])
    want = index.search(queries, k=10)
    index.compact()
    st = index.stats()
    assert st["segments"] == 1 and st["deleted"] == 0 and st["documents"] == len(index) == 550 - 167
    got = index.search(queries, k=10)
    for a, b in zip(got.scores, want.scores):  # segments had their own scales: re-quantisation moves scores a little
        np.testing.assert_allclose(a, b, rtol=0.01)
    assert_matches_oracle(got, *oracle(index, queries, 10))


def test_search_during_updates_sees_one_version(small_random):
    docs, queries = small_random
    index = SparseIndex.build(docs)
    q = SparseVectors.from_dicts([{5: 1.0}], vocab_size=200)
    batch = [SparseVectors.from_dicts([{5: 50.0 + i}], vocab_size=200, ids=[f"hot{i}"]) for i in range(20)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                r = index.search(q, k=3, threads=1)
                hot = [i for i in r.ids[0] if i.startswith("hot")]
                assert hot == sorted(hot, key=lambda s: -int(s[3:]))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i, v in enumerate(batch):
        index.add(v)
        if i % 3 == 2:
            index.delete([f"hot{i - 1}"])
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert index.search(q, k=1).ids == [["hot19"]]
