"""Property-based tests of ``SparseVectors``: every input either works or raises a clear ValueError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laconic.errors import InputError
from laconic.sparse import SparseVectors

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

weights = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=32).filter(bool)
unicode_ids = st.text(min_size=0, max_size=12)  # includes "", surrogates excluded by hypothesis, emoji, RTL


@st.composite
def batches(draw, max_rows: int = 8, vocab: int | None = None):
    vocab = vocab or draw(st.integers(1, 64))
    rows = draw(st.lists(st.dictionaries(st.integers(0, vocab - 1), weights, max_size=vocab), max_size=max_rows))
    ids = draw(st.none() | st.lists(unicode_ids, min_size=len(rows), max_size=len(rows)))
    return SparseVectors.from_dicts(rows, vocab, ids=ids), rows, vocab


@SETTINGS
@given(batches())
def test_dicts_dense_scipy_round_trip(batch):
    vectors, rows, vocab = batch
    assert len(vectors) == len(rows)
    assert vectors.to_dicts() == [{k: np.float32(v) for k, v in sorted(r.items())} for r in rows]
    dense = vectors.to_dense()
    assert dense.shape == (len(rows), vocab)
    again = SparseVectors.from_dense(dense)
    np.testing.assert_array_equal(again.indptr, vectors.indptr)
    np.testing.assert_array_equal(again.indices, vectors.indices)
    np.testing.assert_array_equal(again.values, vectors.values)
    np.testing.assert_array_equal(SparseVectors.from_scipy(vectors.to_scipy()).to_dense(), dense)


@SETTINGS
@given(batches(), st.integers(1, 70))
def test_top_k_keeps_the_k_largest_per_row(batch, k):
    vectors, rows, _ = batch
    pruned = vectors.top_k(k)
    assert pruned.ids == vectors.ids
    for original, kept in zip(rows, pruned.to_dicts()):
        assert len(kept) == min(k, len(original))
        # oracle: sort by (-weight, term id) and keep k
        expect = sorted(original.items(), key=lambda kv: (-np.float32(kv[1]), kv[0]))[:k]
        assert kept == {t: np.float32(w) for t, w in expect}


@SETTINGS
@given(batches(), st.data())
def test_slicing_and_concat_agree(batch, data):
    vectors, _, _ = batch
    n = len(vectors)
    cut = data.draw(st.integers(0, n))
    parts = [vectors[:cut], vectors[cut:]]
    joined = SparseVectors.concat(parts)
    assert joined.to_dicts() == vectors.to_dicts() and joined.ids == vectors.ids
    if n:
        pick = data.draw(st.lists(st.integers(-n, n - 1), max_size=10))
        picked = vectors[np.array(pick, dtype=np.int64)]
        assert picked.to_dicts() == [vectors.to_dicts()[i] for i in pick]


@SETTINGS
@given(batches(max_rows=5))
def test_save_load_round_trip_with_unicode_ids(tmp_path, batch):
    vectors, _, _ = batch
    path = tmp_path / "v.npz"
    vectors.save(path)
    loaded = SparseVectors.load(path)
    assert loaded.ids == vectors.ids and loaded.vocab_size == vectors.vocab_size
    assert loaded.to_dicts() == vectors.to_dicts()


bad_value = st.sampled_from([float("nan"), float("inf"), float("-inf")])


@SETTINGS
@given(st.integers(2, 50), st.data())
def test_invalid_arrays_raise_value_error(vocab, data):
    kind = data.draw(st.sampled_from(["nonfinite", "out_of_range", "negative_id", "duplicate", "unsorted", "indptr"]))
    indices, values, indptr = [0, 1], [1.0, 2.0], [0, 2]
    if kind == "nonfinite":
        values[data.draw(st.integers(0, 1))] = data.draw(bad_value)
    elif kind == "out_of_range":
        indices[1] = data.draw(st.integers(vocab, 2**31 - 1))
    elif kind == "negative_id":
        indices[0] = data.draw(st.integers(-(2**31), -1))
    elif kind == "duplicate":
        indices = [1, 1]
    elif kind == "unsorted":
        indices = [1, 0]
    else:
        indptr = data.draw(st.sampled_from([[0, 3], [1, 2], [0, 2, 1], []]))
    with pytest.raises(ValueError):
        SparseVectors(indptr, indices, values, vocab)


def test_rows_may_restart_lower_and_empty_rows_are_fine():
    v = SparseVectors([0, 2, 2, 3], [3, 5, 0], [1.0, 2.0, 3.0], vocab_size=6, ids=["a", "", "🙂"])
    assert v.to_dicts() == [{3: 1.0, 5: 2.0}, {}, {0: 3.0}]
    assert v.row_nnz().tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="ids"):
        SparseVectors([0, 1], [0], [1.0], vocab_size=2, ids=["a", "b"])
    with pytest.raises(ValueError, match="k must be positive"):
        v.top_k(0)


def test_load_rejects_garbage_with_input_error(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="garbage.npz"):
        SparseVectors.load(path)
    with pytest.raises(InputError, match="no such"):
        SparseVectors.load(tmp_path / "missing.npz")
