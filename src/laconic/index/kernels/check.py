"""Structural invariants of one segment, checked in one pass over its arrays.

The search kernels index arrays with values read from disk (pair pointers,
block ids, in-block positions, global orders) and do no bounds checks of their
own: checking once at open keeps the hot loops free of branches. After
``check_segment`` returns 0, every read and write the kernels make is in bounds
and the block-max bounds are true upper bounds, so exact search stays exact.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.pairs import CHUNK_SHIFT, LOW_MASK, pair_start

# codes returned by check_segment (0 = valid); messages live in laconic.index.validate
OK = 0
TERM_PTR_START, TERM_PTR_ORDER, TERM_PTR_END = 1, 2, 3
PAIR_PTR_START, PAIR_PTR_ORDER, PAIR_PTR_END = 4, 5, 6
BLOCK_RANGE, BLOCK_ORDER = 7, 8
DOC_RANGE, DOC_ORDER = 9, 10
BOUND_LOW, WEIGHT_BAD = 11, 12
ORDER_RANGE, ORDER_DUP = 13, 14
LEVEL_BAD, UNIT_BAD = 15, 16
PAIR_BASE_BAD = 17


@nb.njit(cache=True, nogil=True)
def check_segment(term_ptr, term_blocks, term_max, pair_off, pair_base, post_doc, post_w, doc_order, levels, units,
                  n_docs, block_size, float_weights, seen):
    """Return ``(code, index)``: the first violated invariant and where, or ``(0, -1)``.

    ``pair_base`` must hold ``(n_pairs >> 8) + 1`` anchors (checked by the caller).

    ``seen`` (bool, one per global order) is shared across segments so a global
    order used twice anywhere is caught; it is updated in place.
    """
    code, at = check_levels(levels, units)
    if code:
        return code, at
    n_pairs = term_blocks.size
    n_post = post_doc.size
    n_blocks = (n_docs + block_size - 1) // block_size
    last_fill = n_docs - (n_blocks - 1) * block_size  # positions used in the last block
    if term_ptr[0] != 0:
        return TERM_PTR_START, 0
    for t in range(term_ptr.size - 1):
        if term_ptr[t + 1] < term_ptr[t]:
            return TERM_PTR_ORDER, t + 1
    if term_ptr[term_ptr.size - 1] != n_pairs:
        return TERM_PTR_END, term_ptr.size - 1
    for a in range(pair_base.size):  # each anchor is its own pair's pointer
        if ((np.int64(pair_off[a << CHUNK_SHIFT]) - pair_base[a]) & LOW_MASK) != 0:
            return PAIR_BASE_BAD, a
    prev = pair_start(pair_off, pair_base, 0)
    if prev != 0:
        return PAIR_PTR_START, 0
    for j in range(n_pairs):
        cur = pair_start(pair_off, pair_base, j + 1)
        if cur < prev:
            return PAIR_PTR_ORDER, j + 1
        prev = cur
    if prev != n_post:
        return PAIR_PTR_END, n_pairs
    for t in range(term_ptr.size - 1):
        for j in range(term_ptr[t], term_ptr[t + 1]):
            b = np.int64(term_blocks[j])
            if b >= n_blocks:
                return BLOCK_RANGE, j
            if j > term_ptr[t] and b <= term_blocks[j - 1]:
                return BLOCK_ORDER, j
            limit = last_fill if b == n_blocks - 1 else block_size
            first = pair_start(pair_off, pair_base, j)
            code, p, best = check_postings(post_doc, post_w, first, pair_start(pair_off, pair_base, j + 1), limit,
                                           float_weights)
            if code:
                return code, p
            if not bound_holds(best, term_max[j], levels, units):
                return BOUND_LOW, j
    return check_orders(doc_order, seen)


@nb.njit(cache=True, nogil=True)
def check_levels(levels, units):
    """``(0, -1)`` when every bound level and weight unit is finite and >= 0, else ``(code, index)``."""
    for c in range(levels.size):
        if not (levels[c] >= 0.0 and levels[c] < np.inf):
            return LEVEL_BAD, c
        if not (units[c] >= 0.0 and units[c] < np.inf):
            return UNIT_BAD, c
    return OK, -1


@nb.njit(cache=True, nogil=True, inline="always")
def check_postings(post_doc, post_w, first, end, limit, float_weights):
    """One pair's postings ``[first, end)``: ``(code, index, largest weight)``; code 0 when positions are
    increasing and below ``limit`` and (float) weights finite and >= 0."""
    best = 0.0
    for p in range(first, end):
        d = np.int64(post_doc[p])
        if d >= limit:
            return DOC_RANGE, p, best
        if p > first and d <= post_doc[p - 1]:
            return DOC_ORDER, p, best
        w = float(post_w[p])
        if float_weights and not (w >= 0.0 and w < np.inf):
            return WEIGHT_BAD, p, best
        if w > best:
            best = w
    return OK, -1, best


@nb.njit(cache=True, nogil=True, inline="always")
def bound_holds(best, c, levels, units) -> bool:
    """The weight the kernels score is ``post_w * units[c]``: it must not exceed the pair's bound ``levels[c]``."""
    return not best * units[c] > levels[c] * (1.0 + 1e-6)


@nb.njit(cache=True, nogil=True)
def check_orders(doc_order, seen):
    """``(0, -1)`` when every global order is in range and unused so far (marked in ``seen``), else ``(code, index)``."""
    for p in range(doc_order.size):
        g = doc_order[p]
        if g < 0 or g >= seen.size:
            return ORDER_RANGE, p
        if seen[g]:
            return ORDER_DUP, p
        seen[g] = True
    return OK, -1


@nb.njit(cache=True, nogil=True)
def check_offsets(offsets, blob_size):
    """``(0, -1)`` when ``offsets`` start at 0, never decrease and end at ``blob_size``."""
    if offsets.size == 0 or offsets[0] != 0:
        return 1, 0
    for i in range(offsets.size - 1):
        if offsets[i + 1] < offsets[i]:
            return 2, i + 1
    if offsets[offsets.size - 1] != blob_size:
        return 3, offsets.size - 1
    return 0, -1
