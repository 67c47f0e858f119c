"""``Segment``: one immutable block-max index over a set of documents.

A segment is what a build produces (a big build produces several, its shards)
and what ``add`` appends. It never changes after construction: deletes live in
the index-wide tombstone array, so segments can be shared by every snapshot and
memory-mapped straight from disk. Array layout: docs/index-format.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from laconic.index import kernels as K
from laconic.index.kernels.compact import SINGLE
from laconic.index.layout import lay_out

# name -> dtype of every array a segment holds ("post_w" depends on weight_bits)
ARRAYS = ("term_ptr", "term_blocks", "term_max", "pair_off", "post_doc", "post_w", "doc_order", "levels", "units",
          "pair_base")
DTYPES = {
    "term_ptr": np.int64,
    "term_blocks": np.uint16,
    "term_max": np.uint8,
    "pair_off": np.uint16,
    "pair_base": np.int64,
    "post_doc": np.uint8,
    "doc_order": np.int64,
    "levels": np.float32,
    "units": np.float32,
}
WEIGHT_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.float32}
# a compact segment's tuple, read in place (kernels/compact_search.py); its length tells the layout (dispatch.py)
COMPACT_TUPLE = ("term_ent", "ent_gap", "ent_code", "ent_x", "post_doc", "post_w", "doc_order", "levels", "units",
                 "term_post", "anc_block", "anc_post")
# what the kernels get instead of forward rows / a dense query array when the two-stage search cannot reach them
NO_FORWARD = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
NO_DENSE = np.zeros(0, np.float32)
N_LEVELS = 256  # term_max is a u8 code
LEVEL_RANGE = 1000.0  # the bound levels span [max weight / LEVEL_RANGE, max weight] geometrically


@dataclass(frozen=True)
class Quantiser:
    """Pair-relative weight codes (format version 2).

    Every (term, block) pair has a u8 bound code ``c = term_max``. The pair's
    weights are stored relative to its own bound: ``weight = post_w * units[c]``
    with ``units[c] = levels[c] / max_code`` (8 and 16 bits; 32 bits stores
    floats, ``units = 1``), and ``levels[c]`` is the pair's upper bound.
    ``levels`` are geometric, so a bound is at most one step (2.8%) above the
    pair's largest weight at any magnitude, and every weight keeps 8 (or 16)
    bits of precision *relative to its pair's maximum*: heavy-tailed weights
    lose nothing to one global scale. Why: with one global linear scale (format
    version 1) the small weights of a heavy-tailed collection kept a couple of
    bits and recall@10 fell to 0.96; measured in docs/BENCHMARKS.md.
    """

    bits: int
    levels: np.ndarray  # f32 (256,): upper bound of a pair with bound code c
    units: np.ndarray  # f32 (256,): weight of code 1 in a pair with bound code c

    @property
    def max_code(self) -> int:
        """Largest posting code (0 for float weights)."""
        return 0 if self.bits == 32 else (1 << self.bits) - 1

    @classmethod
    def fit(cls, bits: int, min_weight: float, max_weight: float) -> Quantiser:
        """Levels for weights in ``[min_weight, max_weight]`` (both > 0, else a unit range)."""
        top = float(max_weight) if max_weight > 0 else 1.0
        lo = max(float(min_weight), top / LEVEL_RANGE) if min_weight > 0 else top / LEVEL_RANGE
        levels = np.zeros(N_LEVELS, np.float32)
        levels[1:] = np.geomspace(lo, top, N_LEVELS - 1).astype(np.float32)
        levels[-1] = max(levels[-1], np.float32(top))  # the largest weight always has a bound code
        levels[1:] = np.maximum.accumulate(levels[1:])
        return cls.from_levels(bits, levels)

    @classmethod
    def from_levels(cls, bits: int, levels: np.ndarray) -> Quantiser:
        levels = np.ascontiguousarray(levels, np.float32)
        if bits == 32:
            return cls(bits, levels, np.ones(N_LEVELS, np.float32))
        return cls(bits, levels, (levels / np.float32((1 << bits) - 1)).astype(np.float32))

    @classmethod
    def version1(cls, bits: int, scale: float, bound_scale: float) -> Quantiser:
        """A version-1 segment seen through version 2's tables: one global scale for
        every pair (``units = scale``) and linear bounds (``levels[c] = c * bound_scale``)."""
        levels = (np.arange(N_LEVELS, dtype=np.float64) * bound_scale).astype(np.float32)
        return cls(bits, levels, np.full(N_LEVELS, 1.0 if bits == 32 else scale, np.float32))


@dataclass(frozen=True)
class SourceFile:
    """The index file an array was memory-mapped from (identity by device and inode)."""

    path: Path
    spec: dict  # the header's entry: dtype, shape, bytes, crc32
    device: int
    inode: int


class Segment:
    """Arrays of one segment plus the scalars the kernels need.

    Args:
        arrays: the arrays of ``ARRAYS`` (in memory or memory-mapped).
        n_docs: positions in the segment (documents, including deleted ones).
        block_size: documents per block.
        quant: the segment's quantiser.
        sources: for arrays mapped from an index file, that file (a save hard-links it).
        layout: ``"blocks"`` (``arrays`` are ``ARRAYS``) or ``"compact"`` (the compact
            files and what in-place search derives from them: ``index/compact.py``).
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        n_docs: int,
        block_size: int,
        quant: Quantiser,
        sources: dict[str, SourceFile | None] | None = None,
        layout: str = "blocks",
    ) -> None:
        self.arrays = arrays
        self.layout = layout
        self.sources = {k: v for k, v in (sources or {}).items() if v is not None}
        self.n_docs = int(n_docs)
        self.block_size = int(block_size)
        self.quant = quant
        if layout == "compact":
            self.seg = tuple(arrays[name] for name in COMPACT_TUPLE)
            single = np.count_nonzero(np.asarray(arrays["ent_gap"]) & SINGLE)  # one-posting entries
            self._nnz = int(arrays["post_doc"].size + single)
            self._n_pairs = int(arrays["term_ptr"][-1])
        else:
            self.seg = tuple(arrays[name] for name in ARRAYS)
            self._nnz = int(arrays["post_w"].size)
            self._n_pairs = int(arrays["term_blocks"].size)
        self._local = threading.local()
        self._forward: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._forward_lock = threading.Lock()

    @classmethod
    def build(
        cls,
        indptr: np.ndarray,
        indices: np.ndarray,
        values: np.ndarray,
        rows: np.ndarray,
        orders: np.ndarray,
        vocab_size: int,
        block_size: int,
        quant: Quantiser,
        workers: int = 1,
    ) -> Segment:
        """Lay out CSR ``rows`` (in final order, float weights > 0) whose global orders are ``orders``."""
        rows = np.ascontiguousarray(rows, np.int64)
        out = lay_out(
            indptr, indices, values, rows, int(vocab_size), int(block_size), quant.levels, quant.units, quant.max_code,
            np.dtype(WEIGHT_DTYPES[quant.bits]), workers,
        )
        arrays = dict(zip(("term_ptr", "term_blocks", "term_max", "pair_off", "pair_base", "post_doc", "post_w"), out))
        arrays["doc_order"] = np.ascontiguousarray(orders, np.int64)
        arrays["levels"] = quant.levels
        arrays["units"] = quant.units
        return cls(arrays, rows.size, block_size, quant)

    @property
    def n_blocks(self) -> int:
        return (self.n_docs + self.block_size - 1) // self.block_size

    @property
    def nnz(self) -> int:
        return self._nnz

    @property
    def n_pairs(self) -> int:
        return self._n_pairs

    def block_arrays(self) -> dict[str, np.ndarray]:
        """The block layout's arrays (``ARRAYS``): a compact segment's are decoded, a transient copy."""
        if self.layout == "blocks":
            return self.arrays
        from laconic.index.compact import decoded

        return decoded(self)

    def _block_tuple(self) -> tuple:
        return tuple(self.block_arrays()[name] for name in ARRAYS)

    def scratch(self) -> tuple:
        """This thread's reusable single-query buffers (allocated once per thread)."""
        s = getattr(self._local, "buf", None)
        if s is None:
            s = K.make_scratch(self.n_docs, self.block_size)
            self._local.buf = s
        return s

    def forward(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward rows by position, ``(indptr i64, terms i32, weights f32)``, for ``query_cut`` search.

        Derived from the postings on first use (one pass, ~3.5 s per 77M
        postings on one core) and kept in RAM, 8 bytes per posting; never saved, so the
        index format and every index on disk stay as they are. Only the
        two-stage long-query search reads them.
        """
        with self._forward_lock:
            if self._forward is None:
                self._forward = K.to_csr(self._block_tuple(), self.block_size, self.n_docs)
            return self._forward

    def forward_bytes(self) -> int:
        """RAM held by forward rows (0 until a ``query_cut`` search builds them)."""
        fwd = self._forward
        return 0 if fwd is None else sum(int(a.nbytes) for a in fwd)

    def dense_query(self) -> np.ndarray:
        """This thread's zeroed float32 array of the vocabulary size (``search_cut`` leaves it zeroed)."""
        qd = getattr(self._local, "qd", None)
        if qd is None:
            qd = np.zeros(self.arrays["term_ptr"].size - 1, np.float32)
            self._local.qd = qd
        return qd

    def dequantised(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(orders, indptr, indices, weights float32)`` of every position."""
        indptr, indices, weights = K.to_csr(self._block_tuple(), self.block_size, self.n_docs)
        return np.asarray(self.arrays["doc_order"]).astype(np.int64), indptr, indices, weights

    def nbytes(self) -> dict[str, int]:
        return {name: int(arr.nbytes) for name, arr in self.arrays.items()}
