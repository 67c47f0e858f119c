"""One entry point per search step for both segment layouts: the search loops call these.

The layout is told by the segment tuple's length: 10 arrays for the block
layout (``blocks.py``), 12 for a compact segment read in place
(``compact_search.py``). Each entry point is a numba ``overload`` that picks its
layout's kernel when the caller is compiled, so one exact / approximate /
two-stage / batch loop serves both layouts and each compiled specialisation
holds only its own layout's code. Why not a runtime flag: numba then compiles
both layouts' kernels into every specialisation; with one, a cold-cache run of
the index search tests took 354 s, with these 170 s (docs/BENCHMARKS.md,
"Compact storage at speed"). Called from Python, the same names pick the kernel
by the tuple's length.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.extending import overload

from laconic.index.kernels import blocks as B
from laconic.index.kernels import compact_search as C

BLOCK_SLOTS = 10  # len(seg) of a block segment (segment.ARRAYS)
COMPACT_SLOTS = 12  # len(seg) of a compact segment (segment.COMPACT_TUPLE)


def _compact(seg_type) -> bool:
    """Whether a segment tuple's numba type is a compact segment's (else the block layout's)."""
    return len(seg_type.types) == COMPACT_SLOTS


@nb.njit(cache=True, nogil=True)
def _block_terms(q_t, q_w, seg):
    lo, hi, w = B.query_terms(q_t, q_w, seg[0])
    return lo, hi, w, np.zeros(lo.size, np.int64)


@nb.njit(cache=True, nogil=True)
def _compact_terms(q_t, q_w, seg):
    idx = B.present_terms(q_t, q_w, seg[0])
    lo = np.empty(idx.size, np.int64)
    hi = np.empty(idx.size, np.int64)
    w = np.empty(idx.size, np.float32)
    p0 = np.empty(idx.size, np.int64)
    for j in range(idx.size):
        t = q_t[idx[j]]
        lo[j] = seg[0][t]
        hi[j] = seg[0][t + 1]
        w[j] = q_w[idx[j]]
        p0[j] = seg[9][t]
    return lo, hi, w, p0


def query_terms(q_t, q_w, seg):
    """The query terms this segment holds: ``(lo, hi, w, p0)``, their pair (entry) ranges,
    weights and, for a compact segment, first postings (``blocks.query_terms``)."""
    return (_compact_terms if len(seg) == COMPACT_SLOTS else _block_terms)(q_t, q_w, seg)


@overload(query_terms)
def _query_terms(q_t, q_w, seg):
    pick = _compact_terms if _compact(seg) else _block_terms
    return lambda q_t, q_w, seg: pick(q_t, q_w, seg)


def accumulate_bounds(lo, hi, w, seg, ub) -> float:
    """Every block's upper bound into ``ub``; returns their maximum (``blocks.accumulate_bounds``)."""
    return (C.bounds if len(seg) == COMPACT_SLOTS else B.accumulate_bounds)(lo, hi, w, seg, ub)


@overload(accumulate_bounds)
def _accumulate_bounds(lo, hi, w, seg, ub):
    pick = C.bounds if _compact(seg) else B.accumulate_bounds
    return lambda lo, hi, w, seg, ub: pick(lo, hi, w, seg, ub)


@nb.njit(cache=True, nogil=True)
def _block_fill(lo, hi, w, p0, seg, keep, cnt):
    return B.fill_lists(lo, hi, w, seg, keep, cnt)


def fill_lists(lo, hi, w, p0, seg, keep, cnt):
    """File the kept blocks' pairs into per-block lists (``blocks.fill_lists``)."""
    return (C.fill_lists if len(seg) == COMPACT_SLOTS else _block_fill)(lo, hi, w, p0, seg, keep, cnt)


@overload(fill_lists)
def _fill_lists(lo, hi, w, p0, seg, keep, cnt):
    pick = C.fill_lists if _compact(seg) else _block_fill
    return lambda lo, hi, w, p0, seg, keep, cnt: pick(lo, hi, w, p0, seg, keep, cnt)


def score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    """Score block ``b`` from its list and offer its documents to the heap (``blocks.score_listed_block``)."""
    pick = C.score_listed_block if len(seg) == COMPACT_SLOTS else B.score_listed_block
    return pick(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)


@overload(score_listed_block)
def _score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False):
    pick = C.score_listed_block if _compact(seg) else B.score_listed_block

    def impl(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False):
        return pick(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)

    return impl


@nb.njit(cache=True, nogil=True)
def _block_score(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    return B.score_block(b, lo, hi, w, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)


def score_block(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    """Score block ``b`` by looking each query term up, then offer it to the heap (``blocks.score_block``)."""
    pick = C.score_block if len(seg) == COMPACT_SLOTS else _block_score
    return pick(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)


@overload(score_block)
def _score_block(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False):
    pick = C.score_block if _compact(seg) else _block_score

    def impl(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False):
        return pick(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)

    return impl


def add_term(seg, t, wi, block_size, acc) -> None:
    """Add every posting of term ``t``, times ``wi``, into the dense accumulator (the exhaustive oracle's step)."""
    (C.add_term if len(seg) == COMPACT_SLOTS else B.add_term)(seg, t, wi, block_size, acc)


@overload(add_term)
def _add_term(seg, t, wi, block_size, acc):
    pick = C.add_term if _compact(seg) else B.add_term
    return lambda seg, t, wi, block_size, acc: pick(seg, t, wi, block_size, acc)


def explain_docs(q_t, q_w, positions, seg, block_size) -> np.ndarray:
    """Stored weight of each query term in each document (``blocks.explain_docs``)."""
    return (C.explain_docs if len(seg) == COMPACT_SLOTS else B.explain_docs)(q_t, q_w, positions, seg, block_size)


@overload(explain_docs)
def _explain_docs(q_t, q_w, positions, seg, block_size):
    pick = C.explain_docs if _compact(seg) else B.explain_docs
    return lambda q_t, q_w, positions, seg, block_size: pick(q_t, q_w, positions, seg, block_size)
