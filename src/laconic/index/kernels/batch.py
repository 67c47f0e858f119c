"""Batch drivers: many queries over one segment, spread over all cores.

``prange`` runs over ``n_chunks`` interleaved slices of the queries; each slice
allocates its scratch once and reuses it for all its queries, so the per-query
cost is only the search itself. Heaps are carried in ``(hs, ho, sizes)`` rows,
which lets several segments be searched one after another with the k-th score
of the earlier ones already pruning the later ones.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.approximate import search_approximate
from laconic.index.kernels.blocks import N_BUCKETS
from laconic.index.kernels.cut import search_cut
from laconic.index.kernels.exact import search_exact
from laconic.index.kernels.exhaustive import search_exhaustive
from laconic.index.kernels.topk_heap import heap_sort_desc

MODE_EXACT = 0
MODE_APPROXIMATE = 1
MODE_EXHAUSTIVE = 2


@nb.njit(cache=True, nogil=True, parallel=True)
def search_batch(
    q_indptr, q_indices, q_values, seg, fwd, block_size, n_docs, deleted,
    k, mode, alpha, query_cut, candidates, max_blocks, hs, ho, sizes, n_chunks,
) -> None:
    """Search every query (CSR rows) over one segment; updates heap rows in place.

    ``fwd`` (forward rows) and ``candidates`` matter only to ``query_cut > 0``
    (``search_cut``); each chunk then owns a dense query array.
    """
    nq = q_indptr.size - 1
    cut = mode == MODE_APPROXIMATE and query_cut > 0
    for c in nb.prange(n_chunks):
        scratch = make_scratch(n_docs, block_size)
        qd = np.zeros(seg[0].size - 1 if cut else 0, np.float32)
        for qi in range(c, nq, n_chunks):
            a = q_indptr[qi]
            b = q_indptr[qi + 1]
            q_t = q_indices[a:b]
            q_w = q_values[a:b]
            if mode == MODE_EXACT:
                sizes[qi] = search_exact(
                    q_t, q_w, seg, block_size, deleted, k, hs[qi], ho[qi], sizes[qi], scratch
                )
            elif cut:
                sizes[qi] = search_cut(
                    q_t, q_w, seg, fwd, block_size, deleted, k, hs[qi], ho[qi], sizes[qi],
                    scratch, qd, alpha, query_cut, candidates, max_blocks,
                )
            elif mode == MODE_APPROXIMATE:
                sizes[qi] = search_approximate(
                    q_t, q_w, seg, block_size, deleted, k, hs[qi], ho[qi], sizes[qi],
                    scratch, alpha, max_blocks, np.bool_(False),
                )
            else:
                sizes[qi] = search_exhaustive(
                    q_t, q_w, seg, block_size, deleted, n_docs, k, hs[qi], ho[qi], sizes[qi]
                )


@nb.njit(cache=True, nogil=True)
def search_single(
    q_t, q_w, seg, fwd, block_size, n_docs, deleted,
    k, mode, alpha, query_cut, candidates, max_blocks, hs, ho, size, scratch, qd,
) -> int:
    """One query over one segment with caller-owned scratch and dense query array ``qd`` (the low-latency path)."""
    if mode == MODE_EXACT:
        return search_exact(q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch)
    if mode == MODE_APPROXIMATE and query_cut > 0:
        return search_cut(
            q_t, q_w, seg, fwd, block_size, deleted, k, hs, ho, size, scratch, qd,
            alpha, query_cut, candidates, max_blocks,
        )
    if mode == MODE_APPROXIMATE:
        return search_approximate(
            q_t, q_w, seg, block_size, deleted, k, hs, ho, size, scratch, alpha, max_blocks, np.bool_(False),
        )
    return search_exhaustive(q_t, q_w, seg, block_size, deleted, n_docs, k, hs, ho, size)


@nb.njit(cache=True, nogil=True)
def make_scratch(n_docs, block_size):
    """Per-thread buffers of one segment's search, reused across queries."""
    n_blocks = (n_docs + block_size - 1) // block_size
    return (
        np.zeros(n_blocks, np.float32),  # ub: block bounds
        np.empty(n_blocks, np.int32),  # order: blocks by bucket
        np.zeros(N_BUCKETS + 1, np.int64),  # bucket starts
        np.zeros(block_size, np.float32),  # acc: one block's scores
        np.zeros(n_blocks + 1, np.int64),  # cnt: kept pairs per block (fill_lists)
        np.zeros(n_blocks, np.bool_),  # keep: blocks given forward lists
    )


@nb.njit(cache=True, nogil=True)
def finish_heaps(hs, ho, sizes) -> None:
    """Sort every heap row best first, in place."""
    for i in range(sizes.size):
        heap_sort_desc(hs[i], ho[i], sizes[i])
