"""Exact block-max search (BMP, Mallia, Suel & Tonellotto, SIGIR 2024).

1. Upper-bound every block: sum over query terms of weight x the term's
   block bound (``accumulate_bounds``).
2. Visit blocks in decreasing bound order (``bucket_order``), scoring each
   block's documents exactly: by binary search per query term
   (``score_block``) for the first blocks, then, for long queries, from
   per-query forward lists of the blocks that can still qualify
   (``fill_lists``, ``score_listed_block``).
3. Stop as soon as the next bound cannot beat the current k-th score. Bounds
   are rounded up and widened by ``BOUND_SLACK`` against float32 rounding, and
   a block whose bound equals the k-th score is still visited, so an
   earlier-inserted document with an equal score wins the tie exactly as in
   the exhaustive oracle.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.approximate import search_approximate


@nb.njit(cache=True, nogil=True)
def search_exact(q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch) -> int:
    """Exact top-k of one query over one segment, merged into heap ``(hs, ho, size)``.

    ``scratch = (ub f32[n_blocks], order i32[n_blocks], starts i64[N_BUCKETS + 1],
    acc f32[block_size] zeroed)``. Returns the new heap size. Exact search is the
    approximate loop with every knob off (alpha 1, no block cap):
    one loop to keep correct, and its pruning is already safe at those settings.
    The typed ``np.int64`` / ``np.bool_`` arguments match every other caller's, so
    numba compiles the loop once per segment type (literals would add a copy).
    """
    return search_approximate(q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch, 1.0, np.int64(0), np.bool_(False))
