"""``SparseVectors``: the one type that crosses package boundaries.

A batch of sparse term-weight vectors in CSR form. The encoder produces it, the
index consumes it, training and evaluation pass it around, and it saves to a
plain ``.npz``. Invariants (checked on construction, vectorised, O(nnz)):

- ``indptr``: int64, shape (n + 1,), ``indptr[0] == 0``, non-decreasing,
  ``indptr[-1] == nnz``.
- ``indices``: int32, shape (nnz,), each row's term ids strictly increasing
  (sorted, no duplicates) and in ``[0, vocab_size)``.
- ``values``: float32, shape (nnz,), finite.
- ``ids``: optional list of ``n`` string ids (document or query ids).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from laconic.errors import InputError
from laconic.storage import atomic_write_bytes

_FORMAT = "laconic.sparse.v1"


class SparseVectors:
    """A CSR batch of sparse vectors over a vocabulary of ``vocab_size`` terms.

    Args:
        indptr: row offsets, int64, shape (n + 1,).
        indices: term ids, int32, sorted and unique within each row.
        values: weights, float32, finite.
        vocab_size: number of columns (the tokenizer's vocabulary size).
        ids: optional string id per row.

    Example:
        >>> v = SparseVectors.from_dicts([{3: 1.5, 7: 0.25}, {}], vocab_size=10)
        >>> len(v), v.nnz
        (2, 2)
    """

    __slots__ = ("indptr", "indices", "values", "vocab_size", "ids")

    def __init__(
        self,
        indptr: Any,
        indices: Any,
        values: Any,
        vocab_size: int,
        ids: Sequence[str] | None = None,
        *,
        check: bool = True,
    ) -> None:
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.values = np.ascontiguousarray(values, dtype=np.float32)
        self.vocab_size = int(vocab_size)
        self.ids = None if ids is None else [str(i) for i in ids]
        if check:
            self._validate()

    # ------------------------------------------------------------------ checks
    def _validate(self) -> None:
        ip, ix, vals = self.indptr, self.indices, self.values
        if ip.ndim != 1 or ip.size < 1 or ip[0] != 0:
            raise ValueError("indptr must be 1-D, non-empty and start at 0")
        if ix.ndim != 1 or vals.ndim != 1 or ix.size != vals.size:
            raise ValueError(f"indices ({ix.shape}) and values ({vals.shape}) must be 1-D of equal length")
        if ip[-1] != ix.size:
            raise ValueError(f"indptr[-1] = {ip[-1]} but there are {ix.size} non-zeros")
        if np.any(np.diff(ip) < 0):
            raise ValueError("indptr must be non-decreasing")
        if self.vocab_size <= 0:
            raise ValueError(f"vocab_size must be positive, got {self.vocab_size}")
        if ix.size:
            lo, hi = int(ix.min()), int(ix.max())
            if lo < 0 or hi >= self.vocab_size:
                raise ValueError(f"term ids must lie in [0, {self.vocab_size}); found {lo if lo < 0 else hi}")
            if not np.all(np.isfinite(vals)):
                raise ValueError("weights must be finite (found NaN or inf)")
            rising = np.diff(ix.astype(np.int64)) > 0
            starts = ip[1:-1]
            rising[starts[(starts > 0) & (starts < ix.size)] - 1] = True  # a new row may start lower
            if not np.all(rising):
                raise ValueError("term ids must be strictly increasing within each row (sorted, no duplicates)")
        if self.ids is not None and len(self.ids) != len(self):
            raise ValueError(f"got {len(self.ids)} ids for {len(self)} vectors")

    # ------------------------------------------------------------ constructors
    @classmethod
    def empty(cls, vocab_size: int, n: int = 0) -> SparseVectors:
        """``n`` all-zero vectors."""
        return cls(np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), vocab_size)

    @classmethod
    def from_scipy(cls, matrix: Any, ids: Sequence[str] | None = None) -> SparseVectors:
        """From any scipy sparse matrix; duplicates are summed, explicit zeros dropped."""
        csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        csr.sort_indices()
        return cls(csr.indptr, csr.indices, csr.data, csr.shape[1], ids)

    @classmethod
    def from_dense(cls, dense: Any, ids: Sequence[str] | None = None) -> SparseVectors:
        """From a dense (n, vocab) numpy array or torch tensor; zeros are dropped."""
        if hasattr(dense, "detach"):
            dense = dense.detach().float().cpu().numpy()
        arr = np.asarray(dense, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError(f"dense input must be 2-D (n, vocab), got shape {arr.shape}")
        rows, cols = np.nonzero(arr)
        indptr = np.zeros(arr.shape[0] + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=arr.shape[0]), out=indptr[1:])
        return cls(indptr, cols, arr[rows, cols], arr.shape[1], ids)

    @classmethod
    def from_dicts(
        cls, rows: Iterable[dict[int, float]], vocab_size: int, ids: Sequence[str] | None = None
    ) -> SparseVectors:
        """From one ``{term_id: weight}`` dict per vector (convenient, not fast)."""
        rows = list(rows)
        lengths = np.array([len(r) for r in rows], np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        cols = np.fromiter((k for r in rows for k in r), np.int64, count=int(indptr[-1]))
        vals = np.fromiter((v for r in rows for v in r.values()), np.float32, count=int(indptr[-1]))
        n = len(rows)
        return cls.from_scipy(sp.csr_matrix((vals, cols, indptr), shape=(n, vocab_size)), ids)

    @classmethod
    def concat(cls, parts: Sequence[SparseVectors]) -> SparseVectors:
        """Stack batches row-wise; all must share ``vocab_size``; ids kept if all have them."""
        if not parts:
            raise ValueError("concat needs at least one SparseVectors")
        vocab = parts[0].vocab_size
        if any(p.vocab_size != vocab for p in parts):
            raise ValueError(f"cannot concatenate vocab sizes {sorted({p.vocab_size for p in parts})}")
        offsets = np.cumsum([0] + [p.nnz for p in parts[:-1]])
        indptr = np.concatenate([[0]] + [p.indptr[1:] + off for p, off in zip(parts, offsets)])
        ids = None
        if all(p.ids is not None for p in parts):
            ids = [i for p in parts for i in p.ids]  # type: ignore[union-attr]
        return cls(
            indptr,
            np.concatenate([p.indices for p in parts]),
            np.concatenate([p.values for p in parts]),
            vocab,
            ids,
            check=False,
        )

    # --------------------------------------------------------------- accessors
    def __len__(self) -> int:
        return self.indptr.size - 1

    @property
    def nnz(self) -> int:
        """Total number of stored (non-zero) weights."""
        return int(self.indices.size)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.vocab_size)

    def row_nnz(self) -> np.ndarray:
        """Number of non-zeros of each vector, int64 (n,)."""
        return np.diff(self.indptr)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(term_ids, weights)`` of vector ``i`` as views, no copy."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"vector {i} out of range for {n} vectors")
        i %= n
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.values[lo:hi]

    def ranked(self, top_k: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per vector, ``(term ids, weights)`` by decreasing weight (ties: lower id first), at most ``top_k``."""
        out = []
        for i in range(len(self)):
            idx, vals = self.row(i)
            order = np.lexsort((idx, -vals))[: top_k or None]
            out.append((idx[order], vals[order]))
        return out

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> SparseVectors:
        """A batch of the selected vectors (an int gives a batch of one)."""
        n = len(self)
        if isinstance(key, (int, np.integer)):
            if not -n <= key < n:
                raise IndexError(f"vector {key} out of range for {n} vectors")
            rows = np.array([int(key) % n])
        elif isinstance(key, slice):
            rows = np.arange(n)[key]
        else:
            rows = np.asarray(key)
            if rows.dtype == bool:
                rows = np.flatnonzero(rows)
            rows = rows.astype(np.int64)
            if rows.size and (rows.min() < -n or rows.max() >= n):
                raise IndexError(f"row index out of range for {n} vectors")
            rows %= max(n, 1)
        sub = self.to_scipy()[rows]
        ids = None if self.ids is None else [self.ids[r] for r in rows]
        return SparseVectors(sub.indptr, sub.indices, sub.data, self.vocab_size, ids, check=False)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        mean = self.nnz / max(len(self), 1)
        return f"SparseVectors(n={len(self)}, vocab_size={self.vocab_size}, nnz={self.nnz}, mean_nnz={mean:.1f})"

    def with_ids(self, ids: Sequence[str] | None) -> SparseVectors:
        """The same vectors (shared arrays) carrying ``ids``."""
        if ids is not None and len(ids) != len(self):
            raise ValueError(f"got {len(ids)} ids for {len(self)} vectors")
        return SparseVectors(self.indptr, self.indices, self.values, self.vocab_size, ids, check=False)

    # ------------------------------------------------------------- conversions
    def to_scipy(self) -> sp.csr_matrix:
        """A ``scipy.sparse.csr_matrix`` of shape (n, vocab_size) sharing the arrays."""
        return sp.csr_matrix((self.values, self.indices, self.indptr), shape=self.shape, copy=False)

    def to_torch(self):
        """A ``torch.sparse_csr_tensor`` (float32) of shape (n, vocab_size)."""
        import torch

        return torch.sparse_csr_tensor(
            torch.from_numpy(self.indptr),
            torch.from_numpy(self.indices.astype(np.int64)),
            torch.from_numpy(self.values),
            size=self.shape,
        )

    def to_dense(self) -> np.ndarray:
        """Dense float32 (n, vocab_size) array. Only for small batches."""
        return self.to_scipy().toarray()

    def to_dicts(self) -> list[dict[int, float]]:
        """One ``{term_id: weight}`` dict per vector (for JSON and debugging)."""
        return [dict(zip(ix.tolist(), v.tolist())) for ix, v in (self.row(i) for i in range(len(self)))]

    def top_k(self, k: int) -> SparseVectors:
        """Keep each vector's ``k`` largest weights (ties: lower term id first).

        Vectorised over the whole batch: sort by (row, -weight, term), keep ranks
        below ``k``, restore term order.
        """
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        if self.nnz == 0 or int(self.row_nnz().max()) <= k:
            return self
        row = np.repeat(np.arange(len(self)), self.row_nnz())
        order = np.lexsort((self.indices, -self.values, row))
        rank = np.arange(self.nnz) - self.indptr[row[order]]
        keep = np.sort(order[rank < k])  # back to (row, term) order
        counts = np.bincount(row[keep], minlength=len(self))
        indptr = np.concatenate([[0], np.cumsum(counts)])
        return SparseVectors(indptr, self.indices[keep], self.values[keep], self.vocab_size, self.ids, check=False)

    # --------------------------------------------------------------------- I/O
    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` (atomically: a crash leaves any previous file intact)."""
        buf = io.BytesIO()
        arrays = dict(
            format=np.array(_FORMAT),
            indptr=self.indptr,
            indices=self.indices,
            values=self.values,
            vocab_size=np.array(self.vocab_size, np.int64),
        )
        if self.ids is not None:
            # UTF-8 bytes + offsets: a numpy str array would drop trailing NULs of an id
            encoded = [str(i).encode("utf-8", "surrogatepass") for i in self.ids]
            offsets = np.zeros(len(encoded) + 1, np.int64)
            np.cumsum([len(e) for e in encoded], out=offsets[1:])
            arrays["ids_blob"] = np.frombuffer(b"".join(encoded), np.uint8)
            arrays["ids_offsets"] = offsets
        np.savez(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> SparseVectors:
        """Read a file written by :meth:`save`; bad files raise :class:`InputError`."""
        path = Path(path)
        if not path.is_file():
            raise InputError("no such vectors file", path=path)
        try:
            with np.load(path, allow_pickle=False) as data:
                if "format" not in data or str(data["format"]) != _FORMAT:
                    raise InputError(f"not a laconic vectors file (expected format {_FORMAT})", path=path)
                ids = _read_ids(data, path)
                return cls(data["indptr"], data["indices"], data["values"], int(data["vocab_size"]), ids)
        except InputError:
            raise
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise InputError(f"unreadable vectors file ({exc})", path=path) from exc


def _read_ids(data: Any, path: Path) -> list[str] | None:
    """Ids of a saved file: UTF-8 blob + offsets, or (files written before) a numpy str array."""
    if "ids_blob" in data:
        blob, offsets = data["ids_blob"], data["ids_offsets"]
        if (
            blob.dtype != np.uint8 or offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0
            or offsets[-1] != blob.size or np.any(np.diff(offsets) < 0)
        ):
            raise InputError("ids_offsets do not index ids_blob", path=path)
        raw = blob.tobytes()
        try:
            return [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        except UnicodeDecodeError as exc:
            raise InputError(f"ids are not UTF-8 ({exc})", path=path) from None
    return data["ids"].tolist() if "ids" in data else None
