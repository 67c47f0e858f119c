"""Exact block-max search (BMP, Mallia, Suel & Tonellotto, SIGIR 2024).

1. Upper-bound every block: sum over query terms of weight x the term's
   quantised block maximum (``accumulate_bounds``).
2. Visit blocks in decreasing bound order (``bucket_order``), scoring each
   block's documents exactly (``score_block``).
3. Stop as soon as the next bound cannot beat the current k-th score. Bounds
   are rounded up and widened by ``BOUND_SLACK`` against float32 rounding, and
   a block whose bound equals the k-th score is still visited, so an
   earlier-inserted document with an equal score wins the tie exactly as in
   the exhaustive oracle.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.blocks import BOUND_SLACK, N_BUCKETS, accumulate_bounds, bucket_order, query_terms, score_block


@nb.njit(cache=True, nogil=True)
def search_exact(q_t, q_w, seg, block_size, scale, bound_scale, deleted, k, hs, ho, size, scratch) -> int:
    """Exact top-k of one query over one segment, merged into heap ``(hs, ho, size)``.

    ``scratch = (ub f32[n_blocks], order i32[n_blocks], starts i64[N_BUCKETS + 1],
    acc f32[block_size] zeroed)``. Returns the new heap size.
    """
    ub, order, starts, acc = scratch
    lo, hi, w = query_terms(q_t, q_w, seg[0])
    if lo.size == 0:
        return size
    ub[:] = 0.0
    best = accumulate_bounds(lo, hi, w, np.arange(lo.size), seg[1], seg[2], ub)
    if best <= 0:
        return size
    bucket_order(ub, best, order, starts)
    f = bound_scale * (1.0 + BOUND_SLACK)
    for q in range(N_BUCKETS):
        if size == k and best * (N_BUCKETS - q) / N_BUCKETS * f < hs[0]:
            break
        for x in range(starts[q], starts[q + 1]):
            b = order[x]
            if size == k and ub[b] * f < hs[0]:
                continue
            size = score_block(b, lo, hi, w, seg, block_size, scale, deleted, acc, hs, ho, size, k)
    return size
