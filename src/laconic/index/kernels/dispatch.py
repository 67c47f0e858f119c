"""One entry point per search step for both segment layouts: the search loops call these.

A segment's tuple ends with its layout flag (``seg[12]``: True for a compact
segment read in place, ``compact_search.py``; False for the block layout,
``blocks.py``), so one exact/approximate/two-stage loop serves both layouts and
the branch is taken once per step, never per posting. Both tuples hold integer
arrays in every slot, so each branch compiles for either layout.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels import blocks as B
from laconic.index.kernels import compact_search as C


@nb.njit(cache=True, nogil=True)
def query_terms(q_t, q_w, seg):
    """The query terms this segment holds: ``(lo, hi, w, p0)``, their pair (entry) ranges,
    weights and, for a compact segment, first postings (``blocks.query_terms``)."""
    lo, hi, w = B.query_terms(q_t, q_w, seg[0])
    p0 = np.zeros(lo.size, np.int64)
    if seg[12]:
        idx = B.present_terms(q_t, q_w, seg[0])
        for j in range(idx.size):
            p0[j] = seg[9][q_t[idx[j]]]
    return lo, hi, w, p0


@nb.njit(cache=True, nogil=True)
def accumulate_bounds(lo, hi, w, seg, ub) -> float:
    if seg[12]:
        return C.bounds(lo, hi, w, seg, ub)
    return B.accumulate_bounds(lo, hi, w, seg, ub)


@nb.njit(cache=True, nogil=True)
def fill_lists(lo, hi, w, p0, seg, keep, cnt):
    if seg[12]:
        return C.fill_lists(lo, hi, w, p0, seg, keep, cnt)
    return B.fill_lists(lo, hi, w, seg, keep, cnt)


@nb.njit(cache=True, nogil=True)
def score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    if seg[12]:
        return C.score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)
    return B.score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)


@nb.njit(cache=True, nogil=True)
def score_block(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    if seg[12]:
        return C.score_block(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)
    return B.score_block(b, lo, hi, w, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)


@nb.njit(cache=True, nogil=True)
def explain_docs(q_t, q_w, positions, seg, block_size) -> np.ndarray:
    """Stored weight of each query term in each document (``blocks.explain_docs``)."""
    if seg[12]:
        return C.explain_docs(q_t, q_w, positions, seg, block_size)
    return B.explain_docs(q_t, q_w, positions, seg, block_size)
