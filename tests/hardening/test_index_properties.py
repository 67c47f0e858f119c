"""Property-based tests of ``SparseIndex``: build/search/add/delete against a brute-force oracle.

Every input either works (and then matches the oracle) or raises a clear
ValueError. The oracle is a float64 sparse product over the documents the
index says it holds (``index.vectors()``, i.e. after its own quantisation), so
the test checks the query processor, not the quantiser's rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VOCAB = 40

weight = st.floats(min_value=0.125, max_value=100.0, width=32)
doc_rows = st.lists(st.dictionaries(st.integers(0, VOCAB - 1), weight, max_size=12), min_size=0, max_size=60)
query_rows = st.lists(st.dictionaries(st.integers(0, VOCAB - 1), weight, max_size=6), min_size=1, max_size=4)
configs = st.builds(
    BuildConfig,
    block_size=st.sampled_from([1, 4, 32]),
    weight_bits=st.sampled_from([8, 16, 32]),
    reorder=st.sampled_from(["terms", "bp", "none"]),
    shards=st.integers(1, 3),
)


def oracle(queries: SparseVectors, docs: SparseVectors, k: int) -> list[np.ndarray]:
    """Top-k scores (descending, positive only) by a full float64 product."""
    if len(docs) == 0:
        return [np.zeros(0) for _ in range(len(queries))]
    scores = (queries.to_scipy().astype(np.float64) @ docs.to_scipy().T.astype(np.float64)).toarray()
    return [np.sort(row[row > 0])[::-1][:k] for row in scores]


def check_against_oracle(index: SparseIndex, queries: SparseVectors, k: int, mode: str = "exact") -> None:
    stored = index.vectors()
    got = index.search(queries, k=k, mode=mode)
    assert len(got.ids) == len(queries)
    for q, expect in enumerate(oracle(queries, stored, k)):
        scores = got.scores[q]
        assert scores.dtype == np.float32 and np.all(np.diff(scores) <= 0)
        assert len(got.ids[q]) == len(scores) == len(set(got.ids[q]))
        if mode == "exact":
            np.testing.assert_allclose(scores, expect, rtol=1e-4, atol=1e-5)
        else:  # approximate: never more hits than exist, scores are real scores
            assert len(scores) <= len(expect)
        live = set(stored.ids)
        assert set(got.ids[q]) <= live


@SETTINGS
@given(doc_rows, query_rows, st.integers(1, 80), configs)
def test_exact_search_matches_oracle(docs, queries, k, config):
    vectors = SparseVectors.from_dicts(docs, VOCAB, ids=[f"d{i}" for i in range(len(docs))])
    index = SparseIndex.build(vectors, config=config)
    assert len(index) == len(docs)
    q = SparseVectors.from_dicts(queries, VOCAB)
    check_against_oracle(index, q, k)
    check_against_oracle(index, q, k, mode="approximate")
    if config.weight_bits == 32:  # float32 storage: the original vectors are the oracle
        for got, expect in zip(index.search(q, k=k).scores, oracle(q, vectors, k)):
            np.testing.assert_allclose(got, expect, rtol=1e-5)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.dictionaries(st.integers(0, VOCAB - 1), weight, max_size=8), max_size=8)),
        st.tuples(st.just("delete"), st.lists(st.integers(0, 80), max_size=6)),
    ),
    min_size=1,
    max_size=6,
)


@SETTINGS
@given(doc_rows, ops, query_rows)
def test_add_delete_keep_matching_the_oracle(docs, operations, queries):
    """Model-based: a dict of live documents tracks what the index must hold."""
    config = BuildConfig(weight_bits=32, block_size=4)
    live = {f"d{i}": row for i, row in enumerate(docs)}
    index = SparseIndex.build(SparseVectors.from_dicts(docs, VOCAB, ids=list(live)), config=config)
    next_id = len(docs)
    q = SparseVectors.from_dicts(queries, VOCAB)
    for op, arg in operations:
        if op == "add":
            ids = [f"d{next_id + j}" for j in range(len(arg))]
            next_id += len(arg)
            index.add(SparseVectors.from_dicts(arg, VOCAB), ids)
            live.update(zip(ids, arg))
        else:
            ids = [f"d{i}" for i in arg]
            removed = index.delete(ids)
            assert removed == len({i for i in ids if i in live})
            for i in ids:
                live.pop(i, None)
        assert len(index) == len(live)
        expect_docs = SparseVectors.from_dicts(list(live.values()), VOCAB, ids=list(live))
        for got, expect in zip(index.search(q, k=10).scores, oracle(q, expect_docs, 10)):
            np.testing.assert_allclose(got, expect, rtol=1e-5)
        assert sorted(index.vectors().ids) == sorted(live)


@settings(max_examples=12, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=10), min_size=1, max_size=12, unique=True))
def test_unicode_ids_survive_save_and_open(tmp_path_factory, ids):
    vectors = SparseVectors.from_dicts([{i % VOCAB: 1.0 + i} for i in range(len(ids))], VOCAB)
    index = SparseIndex.build(vectors, ids)
    path = tmp_path_factory.mktemp("idx") / "index"
    index.save(path)
    opened = SparseIndex.open(path, verify=True, warm_up=False)
    assert opened.vectors().ids == ids
    q = SparseVectors.from_dicts([{i % VOCAB: 1.0 for i in range(len(ids))}], VOCAB)
    assert opened.search(q, k=len(ids)).ids == index.search(q, k=len(ids)).ids


def test_bad_inputs_raise_clear_value_errors():
    docs = SparseVectors.from_dicts([{1: 1.0}, {2: 2.0}], VOCAB, ids=["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        SparseIndex.build(docs, ["a", "a"])
    with pytest.raises(ValueError, match="negative"):
        SparseIndex.build(SparseVectors.from_dicts([{1: -1.0}], VOCAB))
    index = SparseIndex.build(docs)
    q = SparseVectors.from_dicts([{1: 1.0}], VOCAB)
    with pytest.raises(ValueError, match="vocab"):
        index.search(SparseVectors.from_dicts([{1: 1.0}], VOCAB + 1))
    with pytest.raises(ValueError, match="k"):
        index.search(q, k=0)
    with pytest.raises(ValueError, match="mode"):
        index.search(q, mode="fuzzy")
    with pytest.raises(ValueError, match="already"):
        index.add(SparseVectors.from_dicts([{3: 1.0}], VOCAB), ["a"])
    assert index.delete(["nope"]) == 0
    # empty things work: empty index, empty documents, empty queries, empty batch
    assert SparseIndex.build(SparseVectors.empty(VOCAB, 0)).search(q, k=3).ids == [[]]
    assert SparseIndex.build(SparseVectors.empty(VOCAB, 3)).search(q, k=3).ids == [[]]
    assert index.search(SparseVectors.empty(VOCAB, 1), k=3).ids == [[]]
    assert index.search(SparseVectors.empty(VOCAB, 0), k=3).ids == []
    assert index.search(q, k=10**6).ids == [["a"]]


def test_huge_k_is_capped_or_refused():
    index = SparseIndex.build(SparseVectors.from_dicts([{1: 1.0}], VOCAB, ids=["a"]))
    q = SparseVectors.from_dicts([{1: 1.0}], VOCAB)
    try:
        assert index.search(q, k=10**12).ids == [["a"]]
    except ValueError:
        pass


def test_negative_query_weights_are_scored_right_or_refused():
    index = SparseIndex.build(SparseVectors.from_dicts([{1: 1.0, 2: 0.5}, {2: 2.0}], VOCAB, ids=["a", "b"]),
                              config=BuildConfig(weight_bits=32))
    q = SparseVectors.from_dicts([{1: -1.0, 2: 1.0}], VOCAB)  # true scores: a = -0.5, b = 2.0
    try:
        got = index.search(q, k=2)
    except ValueError:
        return
    assert got.ids == [["b"]] and got.scores[0].tolist() == [2.0]
