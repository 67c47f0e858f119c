"""The slow, obvious oracle: score every posting of every query term.

Term-at-a-time into a dense per-position accumulator, then every positive,
non-deleted document goes through the same heap. Tests compare the pruned
kernels against this and against scipy brute force.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.compact_search import add_term
from laconic.index.kernels.pairs import pair_start
from laconic.index.kernels.topk_heap import heap_push


@nb.njit(cache=True, nogil=True)
def search_exhaustive(q_t, q_w, seg, block_size, deleted, n_docs, k, hs, ho, size) -> int:
    """Exhaustive top-k of one query over one segment, merged into the heap."""
    term_ptr, term_blocks, term_max, pair_off, post_doc, post_w, doc_order = seg[:7]
    units = seg[8]
    pair_base = seg[9]
    vocab = term_ptr.size - 1
    acc = np.zeros(n_docs, np.float32)
    for i in range(q_t.size):
        t = q_t[i]
        if t < 0 or t >= vocab or not q_w[i] > 0:
            continue
        wi = q_w[i]
        if seg[12]:  # a compact segment (compact_search.py): the same products, in the same order
            add_term(seg, t, wi, block_size, acc)
            continue
        for q in range(term_ptr[t], term_ptr[t + 1]):
            base = np.int64(term_blocks[q]) * block_size
            wq = wi * units[term_max[q]]
            for j in range(pair_start(pair_off, pair_base, q), pair_start(pair_off, pair_base, q + 1)):
                acc[base + post_doc[j]] += wq * post_w[j]
    for p in range(n_docs):
        if acc[p] > 0 and not deleted[doc_order[p]]:
            size = heap_push(hs, ho, size, k, np.float32(acc[p]), doc_order[p])
    return size
