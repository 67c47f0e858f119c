"""``Segment``: one immutable block-max index over a set of documents.

A segment is what a build produces (a big build produces several, its shards)
and what ``add`` appends. It never changes after construction: deletes live in
the index-wide tombstone array, so segments can be shared by every snapshot and
memory-mapped straight from disk. Array layout: docs/index-format.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from laconic.index import kernels as K

# name -> dtype of every array a segment holds ("post_w" depends on weight_bits)
ARRAYS = ("term_ptr", "term_blocks", "term_max", "pair_ptr", "post_doc", "post_w", "doc_order")
DTYPES = {
    "term_ptr": np.int64,
    "term_blocks": np.uint16,
    "term_max": np.uint8,
    "pair_ptr": np.uint32,
    "post_doc": np.uint8,
    "doc_order": np.int64,
}
WEIGHT_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.float32}


@dataclass(frozen=True)
class Quantiser:
    """Maps float weights to stored codes and codes to bound units.

    ``weight = code * scale``; block bounds are u8 codes in units of
    ``bound_scale``; ``ub_mult`` converts a weight code to bound units.
    """

    bits: int
    scale: float
    bound_scale: float
    ub_mult: float

    @classmethod
    def fit(cls, bits: int, max_weight: float) -> Quantiser:
        top = float(max_weight) if max_weight > 0 else 1.0
        bound_scale = top / 255.0
        if bits == 8:
            return cls(8, top / 255.0, bound_scale, 1.0)
        if bits == 16:
            return cls(16, top / 65535.0, bound_scale, 255.0 / 65535.0)
        return cls(32, 1.0, bound_scale, 255.0 / top)

    def encode(self, values: np.ndarray) -> np.ndarray:
        if self.bits == 32:
            return np.ascontiguousarray(values, np.float32)
        out = np.empty(values.size, WEIGHT_DTYPES[self.bits])
        K.quantise(values, 1.0 / self.scale, (1 << self.bits) - 1, out)
        return out


class Segment:
    """Arrays of one segment plus the scalars the kernels need.

    Args:
        arrays: the seven arrays of ``ARRAYS`` (in memory or memory-mapped).
        n_docs: positions in the segment (documents, including deleted ones).
        block_size: documents per block.
        quant: the segment's quantiser.
    """

    def __init__(self, arrays: dict[str, np.ndarray], n_docs: int, block_size: int, quant: Quantiser) -> None:
        self.arrays = arrays
        self.n_docs = int(n_docs)
        self.block_size = int(block_size)
        self.quant = quant
        self.seg = tuple(arrays[name] for name in ARRAYS)
        self._local = threading.local()

    @classmethod
    def build(
        cls,
        indptr: np.ndarray,
        indices: np.ndarray,
        codes: np.ndarray,
        rows: np.ndarray,
        orders: np.ndarray,
        vocab_size: int,
        block_size: int,
        quant: Quantiser,
    ) -> Segment:
        """Lay out CSR ``rows`` (in final order) whose global orders are ``orders``."""
        rows = np.ascontiguousarray(rows, np.int64)
        out = K.layout(indptr, indices, codes, rows, int(vocab_size), int(block_size), float(quant.ub_mult))
        arrays = dict(zip(ARRAYS[:6], out))
        arrays["doc_order"] = np.ascontiguousarray(orders, np.int64)
        return cls(arrays, rows.size, block_size, quant)

    @property
    def n_blocks(self) -> int:
        return (self.n_docs + self.block_size - 1) // self.block_size

    @property
    def nnz(self) -> int:
        return int(self.arrays["post_w"].size)

    @property
    def n_pairs(self) -> int:
        return int(self.arrays["term_blocks"].size)

    def scratch(self) -> tuple:
        """This thread's reusable single-query buffers (allocated once per thread)."""
        s = getattr(self._local, "buf", None)
        if s is None:
            s = K.make_scratch(self.n_docs, self.block_size)
            self._local.buf = s
        return s

    def dequantised(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(orders, indptr, indices, weights float32)`` of every position."""
        a = self.arrays
        indptr, indices, codes = K.to_csr(
            a["term_ptr"], a["term_blocks"], a["pair_ptr"], a["post_doc"], a["post_w"], self.block_size, self.n_docs
        )
        weights = codes.astype(np.float32) * np.float32(self.quant.scale) if self.quant.bits != 32 else codes
        return np.asarray(a["doc_order"]), indptr, indices, weights

    def nbytes(self) -> dict[str, int]:
        return {name: int(arr.nbytes) for name, arr in self.arrays.items()}
