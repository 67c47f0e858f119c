"""Approximate block-max search: the exact loop with three knobs that trade recall for work.

- ``query_cut``: block bounds use only the heaviest ``query_cut`` query terms
  (each term costs a pass over its block list, the main cost of a query).
  Visited blocks are still scored with every term, so returned scores are
  exact dot products. (Adding the cut terms' largest block maxima to every
  bound was tried: blocks holding none of the kept terms are never ranked, so
  recall did not recover and it only cost time.)
- ``alpha`` (0, 1]: a block is visited only while ``alpha x bound >= k-th
  score``; lower is faster and less exact (Seismic's ``heap_factor`` idea).
- ``max_blocks``: a hard cap on blocks scored per segment (0 = none).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.blocks import BOUND_SLACK, N_BUCKETS, accumulate_bounds, bucket_order, query_terms, score_block


@nb.njit(cache=True, nogil=True)
def search_approximate(
    q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch, alpha, query_cut, max_blocks
) -> int:
    """Approximate top-k of one query over one segment (arguments as ``search_exact``)."""
    ub, order, starts, acc = scratch
    lo, hi, w = query_terms(q_t, q_w, seg[0])
    if lo.size == 0:
        return size
    use = np.arange(lo.size)
    if 0 < query_cut < lo.size:
        use = np.argsort(-w)[:query_cut]
    ub[:] = 0.0
    best = accumulate_bounds(lo, hi, w, use, seg[1], seg[2], seg[7], ub)
    if best <= 0:
        return size
    bucket_order(ub, best, order, starts)
    f = alpha * (1.0 + BOUND_SLACK)
    visited = 0
    limit = max_blocks if max_blocks > 0 else ub.size
    for q in range(N_BUCKETS):
        if visited >= limit or (size == k and best * (N_BUCKETS - q) / N_BUCKETS * f < hs[0]):
            break
        for x in range(starts[q], starts[q + 1]):
            b = order[x]
            if size == k and ub[b] * f < hs[0]:
                continue
            size = score_block(b, lo, hi, w, seg, block_size, deleted, acc, hs, ho, size, k)
            visited += 1
            if visited >= limit:
                break
    return size
