"""Two-stage search for long queries (``SearchParams.query_cut``): gather candidates
with the heaviest query terms, rescore them with every term.

Why: a LACONIC query keeps up to 512 terms, and block bounds over all of them
cost a pass over every (term, block) pair the query touches (millions at 1M
documents), before a single block is scored. Measured on LACONIC-shaped
vectors (docs/BENCHMARKS.md), the true top-10 is almost always among the top
100-200 documents of the query cut to its 48-64 heaviest terms. So:

1. **Candidates**: exact block-max search (``search_approximate``, with
   ``alpha`` and ``max_blocks``) of the *cut* query for its top ``candidates``
   documents. Bounds and scores both use the cut query, so its pruning is as
   sound as for any short query; hits are keyed by segment position.
2. **Rescoring**: each candidate's full dot product, read from the segment's
   forward rows (``to_csr``: terms and dequantised weights by position)
   against the whole query scattered into a dense per-thread array ``qd``.
   Scores are exact dot products over the stored weights (summed in the
   document's term order, so they may differ from exact mode's in the last
   float32 bit); candidates compete in the caller's heap by global order.

A query with no more than ``query_cut`` terms in the segment is searched by
``search_approximate`` directly: there is nothing to cut.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.approximate import search_approximate
from laconic.index.kernels.blocks import present_terms
from laconic.index.kernels.topk_heap import heap_push, worse


@nb.njit(cache=True, nogil=True)
def heaviest_terms_of_query(q_t, q_w, term_ptr, m):
    """Indices into ``q_t`` of the ``m`` heaviest terms present in the segment (in query order), and how many are present.

    Ties in weight go to the earlier query position (stable sort). All present
    terms are returned when there are at most ``m``.
    """
    present = present_terms(q_t, q_w, term_ptr)
    n = present.size
    if n <= m:
        return present, n
    top = present[np.argsort(-q_w[present], kind="mergesort")[:m]]
    top.sort()
    return top, n


@nb.njit(cache=True, nogil=True)
def rescore(q_t, q_w, cand, fwd, doc_order, qd, hs, ho, size, k) -> int:
    """Full dot products of candidate positions ``cand``, offered to the heap ``(hs, ho)`` by global order.

    ``qd`` is a zeroed float32 array of the vocabulary size; it is left zeroed.
    """
    f_ptr, f_t, f_w = fwd
    vocab = qd.size
    for i in range(q_t.size):
        t = q_t[i]
        if 0 <= t < vocab and q_w[i] > 0:
            qd[t] += q_w[i]
    for c in range(cand.size):
        p = cand[c]
        s = np.float32(0.0)
        for j in range(f_ptr[p], f_ptr[p + 1]):
            s += qd[f_t[j]] * f_w[j]
        if s > 0:
            g = doc_order[p]
            if size < k or worse(hs[0], ho[0], s, g):
                size = heap_push(hs, ho, size, k, s, g)
    for i in range(q_t.size):
        t = q_t[i]
        if 0 <= t < vocab:
            qd[t] = 0.0
    return size


@nb.njit(cache=True, nogil=True)
def search_cut(
    q_t, q_w, seg, fwd, block_size, deleted, k, hs, ho, size, scratch, qd, alpha, query_cut, candidates, max_blocks
) -> int:
    """Approximate top-k of one query over one segment in two stages (module docstring).

    ``fwd = (f_ptr i64, f_t i32, f_w f32)``: the segment's forward rows.
    ``candidates`` is at least ``k`` (the caller sees to it). Deleted documents
    never become candidates.
    """
    sel, n_present = heaviest_terms_of_query(q_t, q_w, seg[0], query_cut)
    if n_present <= query_cut:
        return search_approximate(
            q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch, alpha, max_blocks, np.bool_(False)
        )
    c_s = np.empty(candidates, np.float32)
    c_o = np.empty(candidates, np.int64)
    n = search_approximate(
        q_t[sel], q_w[sel], seg, block_size, deleted, candidates, c_s, c_o, np.int64(0), scratch, alpha, max_blocks,
        np.bool_(True),
    )
    return rescore(q_t, q_w, c_o[:n], fwd, seg[6], qd, hs, ho, size, k)
