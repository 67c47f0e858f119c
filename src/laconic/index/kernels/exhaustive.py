"""The slow, obvious oracle: score every posting of every query term.

Term-at-a-time into a dense per-position accumulator, then every positive,
non-deleted document goes through the same heap. Tests compare the pruned
kernels against this and against scipy brute force.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.dispatch import add_term
from laconic.index.kernels.topk_heap import heap_push


@nb.njit(cache=True, nogil=True)
def search_exhaustive(q_t, q_w, seg, block_size, deleted, n_docs, k, hs, ho, size) -> int:
    """Exhaustive top-k of one query over one segment, merged into the heap."""
    doc_order = seg[6]
    vocab = seg[0].size - 1  # term_ptr, or a compact segment's term_ent
    acc = np.zeros(n_docs, np.float32)
    for i in range(q_t.size):
        t = q_t[i]
        if t < 0 or t >= vocab or not q_w[i] > 0:
            continue
        add_term(seg, t, q_w[i], block_size, acc)
    for p in range(n_docs):
        if acc[p] > 0 and not deleted[doc_order[p]]:
            size = heap_push(hs, ho, size, k, np.float32(acc[p]), doc_order[p])
    return size
