"""``SparseVectors``: invariants, conversions, slicing, top-k and I/O against dense numpy oracles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from laconic.errors import InputError
from laconic.sparse import SparseVectors


def random_dense(seed=0, n=6, v=20, density=0.3):
    rng = np.random.default_rng(seed)
    dense = rng.random((n, v)).astype(np.float32) * (rng.random((n, v)) < density)
    dense[2] = 0  # an empty row
    return dense


@pytest.fixture
def vecs():
    return SparseVectors.from_dense(random_dense(), ids=[f"d{i}" for i in range(6)])


def test_constructors_agree(vecs):
    dense = random_dense()
    np.testing.assert_array_equal(vecs.to_dense(), dense)
    from_sp = SparseVectors.from_scipy(sp.csr_matrix(dense))
    from_dicts = SparseVectors.from_dicts(vecs.to_dicts(), vocab_size=20)
    for other in (from_sp, from_dicts):
        np.testing.assert_array_equal(other.to_dense(), dense)
        np.testing.assert_array_equal(other.indptr, vecs.indptr)
    assert vecs.indptr.dtype == np.int64 and vecs.indices.dtype == np.int32 and vecs.values.dtype == np.float32
    assert len(vecs) == 6 and vecs.shape == (6, 20) and vecs.nnz == int((dense != 0).sum())
    np.testing.assert_array_equal(vecs.row_nnz(), (dense != 0).sum(1))


def test_from_scipy_sums_duplicates_and_drops_zeros():
    coo = sp.coo_matrix(([1.0, 2.0, 0.0], ([0, 0, 1], [3, 3, 1])), shape=(2, 5))
    v = SparseVectors.from_scipy(coo)
    assert v.to_dicts() == [{3: 3.0}, {}]


def test_from_torch_dense():
    torch = pytest.importorskip("torch")
    t = torch.tensor([[0.0, 1.5], [2.0, 0.0]], dtype=torch.bfloat16)
    assert SparseVectors.from_dense(t).to_dicts() == [{1: 1.5}, {0: 2.0}]


@pytest.mark.parametrize(
    "indptr, indices, values, vocab, match",
    [
        ([1, 1], [], [], 5, "start at 0"),
        ([0, 2], [1], [1.0], 5, "indptr\\[-1\\]"),
        ([0, 2, 1], [1], [1.0], 5, "non-decreasing"),
        ([0, 1], [5], [1.0], 5, "term ids must lie"),
        ([0, 1], [-1], [1.0], 5, "term ids must lie"),
        ([0, 2], [3, 1], [1.0, 1.0], 5, "strictly increasing"),
        ([0, 2], [1, 1], [1.0, 1.0], 5, "strictly increasing"),
        ([0, 1], [1], [np.nan], 5, "finite"),
        ([0, 1], [1], [1.0, 2.0], 5, "equal length"),
        ([0, 0], [], [], 0, "vocab_size"),
    ],
)
def test_invariants_are_checked(indptr, indices, values, vocab, match):
    with pytest.raises(ValueError, match=match):
        SparseVectors(indptr, indices, values, vocab)


def test_rows_may_restart_lower_across_boundaries():
    v = SparseVectors([0, 2, 2, 4], [3, 4, 0, 1], [1, 1, 1, 1], 5)
    assert v.to_dicts() == [{3: 1.0, 4: 1.0}, {}, {0: 1.0, 1: 1.0}]


def test_ids_length_checked():
    with pytest.raises(ValueError, match="ids"):
        SparseVectors.empty(5, 2).with_ids(["a"])
    with pytest.raises(ValueError, match="ids"):
        SparseVectors([0, 0], [], [], 5, ids=["a", "b"])


def test_getitem_int_slice_array_mask(vecs):
    dense = vecs.to_dense()
    np.testing.assert_array_equal(vecs[1].to_dense(), dense[[1]])
    np.testing.assert_array_equal(vecs[-1].to_dense(), dense[[5]])
    np.testing.assert_array_equal(vecs[1:4].to_dense(), dense[1:4])
    sub = vecs[np.array([4, 0, 4])]
    np.testing.assert_array_equal(sub.to_dense(), dense[[4, 0, 4]])
    assert sub.ids == ["d4", "d0", "d4"]
    mask = np.array([True, False, True, False, False, True])
    assert vecs[mask].ids == ["d0", "d2", "d5"]
    assert len(vecs[[]]) == 0
    with pytest.raises(IndexError):
        vecs[6]
    with pytest.raises(IndexError):
        vecs[[0, 9]]
    idx, vals = vecs.row(0)
    np.testing.assert_array_equal(idx, np.flatnonzero(dense[0]))
    np.testing.assert_array_equal(vals, dense[0][dense[0] != 0])
    assert [len(b) for b in vecs] == [1] * 6


def test_concat(vecs):
    joined = SparseVectors.concat([vecs[:2], vecs[2:3], vecs[3:]])
    np.testing.assert_array_equal(joined.to_dense(), vecs.to_dense())
    assert joined.ids == vecs.ids
    SparseVectors(joined.indptr, joined.indices, joined.values, 20)  # still valid
    assert SparseVectors.concat([vecs, SparseVectors.empty(20, 1)]).ids is None
    with pytest.raises(ValueError):
        SparseVectors.concat([vecs, SparseVectors.empty(21, 1)])
    with pytest.raises(ValueError):
        SparseVectors.concat([])


def top_k_oracle(dense, k):
    out = np.zeros_like(dense)
    for i, row in enumerate(dense):
        nz = np.flatnonzero(row)
        keep = nz[np.lexsort((nz, -row[nz]))][:k]  # by weight desc, then lower term id
        out[i, keep] = row[keep]
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 50])
def test_top_k_matches_oracle(vecs, k):
    dense = vecs.to_dense()
    dense[0, :4] = 0.5  # ties: lower term ids win
    v = SparseVectors.from_dense(dense, ids=vecs.ids)
    got = v.top_k(k)
    np.testing.assert_array_equal(got.to_dense(), top_k_oracle(dense, k))
    assert got.ids == vecs.ids
    with pytest.raises(ValueError):
        v.top_k(0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 8), st.integers(1, 30), st.integers(1, 6))
def test_top_k_property(seed, n, v, k):
    dense = random_dense(seed, n=max(n, 3), v=v, density=0.5)
    np.testing.assert_array_equal(SparseVectors.from_dense(dense).top_k(k).to_dense(), top_k_oracle(dense, k))


def test_conversions(vecs):
    csr = vecs.to_scipy()
    assert csr.shape == (6, 20)
    np.testing.assert_array_equal(csr.toarray(), vecs.to_dense())
    pytest.importorskip("torch")
    np.testing.assert_array_equal(vecs.to_torch().to_dense().numpy(), vecs.to_dense())
    assert "n=6" in repr(vecs)


def test_save_load_round_trip(vecs, tmp_path):
    path = tmp_path / "v.npz"
    vecs.save(path)
    back = SparseVectors.load(path)
    np.testing.assert_array_equal(back.to_dense(), vecs.to_dense())
    assert back.ids == vecs.ids and back.vocab_size == 20
    no_ids = SparseVectors.from_dense(random_dense())
    no_ids.save(path)
    assert SparseVectors.load(path).ids is None


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(InputError, match="no such"):
        SparseVectors.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="junk.npz"):
        SparseVectors.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(InputError, match="not a laconic vectors file"):
        SparseVectors.load(other)


def test_ids_with_nul_characters_round_trip(tmp_path):
    """Found by hypothesis: a numpy str array drops an id's trailing NULs ('\\x00' came back as '')."""
    ids = ["", "\x00", "a\x00", "é\x00\x00", "d\u2028x"]
    vectors = SparseVectors.from_dicts([{0: 1.0}] * len(ids), 4, ids=ids)
    vectors.save(tmp_path / "v.npz")
    assert SparseVectors.load(tmp_path / "v.npz").ids == ids


def test_files_with_str_id_arrays_still_load(tmp_path):
    """Files written before the blob layout (ids as a numpy str array) keep loading."""
    import numpy as np

    path = tmp_path / "old.npz"
    np.savez(path, format=np.array("laconic.sparse.v1"), indptr=np.array([0, 1], np.int64), indices=np.array([2], np.int32),
             values=np.array([0.5], np.float32), vocab_size=np.array(4, np.int64), ids=np.array(["doc-1"]))
    assert SparseVectors.load(path).ids == ["doc-1"]
