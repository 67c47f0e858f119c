"""Approximate block-max search: the exact loop with two knobs that trade recall for work.

- ``alpha`` (0, 1]: a block is visited only while ``alpha x bound >= k-th
  score``; lower is faster and less exact (Seismic's ``heap_factor`` idea).
- ``max_blocks``: a hard cap on blocks scored per segment (0 = none).

The third knob, ``query_cut``, is a two-stage search of its own (``cut.py``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.blocks import BOUND_SLACK, N_BUCKETS, _bucket, bucket_order, pair_count
from laconic.index.kernels.dispatch import (
    accumulate_bounds,
    fill_lists,
    query_terms,
    score_block,
    score_listed_block,
)


# Blocks scored by binary search before the k-th score filters the forward lists. Each costs one
# search per query term; on 1M LACONIC-shaped documents the k-th score after 4 blocks keeps a median
# 151 blocks for filing, after 8 147, the final one 139 (session 21; docs/BENCHMARKS.md, "Skipping,
# prefetching, fewer warm-up blocks"). 8 was the earlier choice.
WARM_BLOCKS = 4
# Forward lists pay when (blocks left to score) x (query terms) x LIST_GAIN exceeds the query's pairs:
# a binary search costs ~log2(list length) dependent cache misses per term and block, filing one
# sequential scan of the query's pairs. 512 since filing stopped waiting on memory (session 20): 32 still
# sent exact search on 1M LACONIC-shaped documents (~290 terms, ~1.6M pairs, ~150 blocks left) to
# binary searches, the slower path there; short queries on the easy shape time the same either way
# (docs/BENCHMARKS.md, "Exact search without waiting on memory").
LIST_GAIN = 512


@nb.njit(cache=True, nogil=True)
def search_approximate(
    q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch, alpha, max_blocks, pos_keys
) -> int:
    """Approximate top-k of one query over one segment (arguments as ``search_exact``; ``pos_keys`` as ``offer_block``).

    Blocks are visited in decreasing bound order. The first ``WARM_BLOCKS``
    (once the heap is full) are scored by binary search. Then, if enough blocks
    can still beat the k-th score (``LIST_GAIN``: long queries, loose bounds),
    only those get forward lists (``fill_lists``; ~5% of the blocks in exact
    mode on LACONIC-shaped queries) and are scored from them; short queries
    keep the binary searches. Under ``max_blocks`` only as many blocks as the
    cap leaves room for are filed: with a wide candidate heap (``search_cut``'s
    first stage) thousands of blocks qualify, ~150 get scored, and filing them
    all cost more than the scoring. A block that qualifies after some filed
    ones fell below the k-th score (possible within one bound bucket) is
    scored by binary search: the same sums either way.
    """
    ub, order, starts_q, acc, cnt, keep = scratch
    lo, hi, w, p0 = query_terms(q_t, q_w, seg)
    if lo.size == 0:
        return size
    ub[:] = 0.0
    best = accumulate_bounds(lo, hi, w, seg, ub)
    if best <= 0:
        return size
    bucket_order(ub, best, order, starts_q)
    n_ranked = starts_q[N_BUCKETS]
    inv = N_BUCKETS / best  # as in bucket_order, so a block's bucket is recomputed exactly
    f = alpha * (1.0 + BOUND_SLACK)
    limit = max_blocks if max_blocks > 0 else ub.size
    visited = 0
    listed_from = -1  # position in ``order`` from which forward lists exist (-1 undecided, -2 never)
    total_pairs = pair_count(lo, hi)
    starts = np.empty(0, np.int64)
    spans = np.empty((0, 2), np.int64)
    weights = np.empty(0, np.float32)
    for y in range(n_ranked):
        if visited >= limit:
            break
        b = order[y]
        if size == k and ub[b] * f < hs[0]:
            q = _bucket(ub[b], inv, N_BUCKETS)
            if best * (N_BUCKETS - q) / N_BUCKETS * f < hs[0]:
                break  # every later block lies in this bucket or a lower one
            continue
        if listed_from == -1 and visited >= WARM_BLOCKS and size == k:
            # Blocks that can still be scored: those whose bound beats the k-th score now (it only
            # rises: the others never qualify), and no more than the cap leaves room for.
            room = limit - visited
            left = 0
            for z in range(y, n_ranked):
                if left == room:
                    break
                left += ub[order[z]] * f >= hs[0]
            if left * lo.size * LIST_GAIN > total_pairs:
                filed = 0
                for z in range(y, n_ranked):
                    if filed == left:
                        break
                    if ub[order[z]] * f >= hs[0]:
                        keep[order[z]] = True
                        filed += 1
                starts, spans, weights = fill_lists(lo, hi, w, p0, seg, keep, cnt)
                listed_from = y
            else:
                listed_from = -2  # decided: binary search to the end
        if listed_from >= 0 and keep[b]:
            size = score_listed_block(
                b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys
            )
        else:  # no lists, or a block past the filed ones (see the docstring)
            size = score_block(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys)
        visited += 1
    if listed_from >= 0:
        for z in range(listed_from, n_ranked):
            keep[order[z]] = False
    return size
