"""Build kernels: order documents, lay out the block-max index and encode its weights.

Input is always a CSR batch (``indptr`` int64, ``indices`` int32 sorted per row,
weights) plus ``rows``: the CSR rows of one segment in their final order (after
clustering). Position ``p`` of the segment is row ``rows[p]``; block ``b`` holds
positions ``[b * block_size, (b + 1) * block_size)``. See docs/index-format.md
for the arrays produced here.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from laconic.index.kernels.pairs import pair_start, set_pair_start


@nb.njit(cache=True, nogil=True)
def drop_zeros(indptr: np.ndarray, indices: np.ndarray, codes: np.ndarray):
    """Remove zero weights from a CSR batch; returns (indptr, indices, weights) copies."""
    n = indptr.size - 1
    keep = 0
    for i in range(codes.size):
        if codes[i] != 0:
            keep += 1
    new_ptr = np.zeros(n + 1, np.int64)
    new_ix = np.empty(keep, np.int32)
    new_c = np.empty(keep, codes.dtype)
    m = 0
    for r in range(n):
        for e in range(indptr[r], indptr[r + 1]):
            if codes[e] != 0:
                new_ix[m] = indices[e]
                new_c[m] = codes[e]
                m += 1
        new_ptr[r + 1] = m
    return new_ptr, new_ix, new_c


@nb.njit(cache=True, nogil=True)
def heaviest_terms(indptr: np.ndarray, indices: np.ndarray, codes: np.ndarray):
    """Each row's heaviest and second-heaviest term ids (-1 when absent).

    They are the clustering keys: documents sorted by (first, second) heaviest
    term share blocks with documents about the same thing, which is what makes
    per-block maxima tight. It is a cheap stand-in for graph bisection (BP):
    one O(nnz) pass plus a sort instead of minutes of iterations.
    """
    n = indptr.size - 1
    first = np.full(n, -1, np.int32)
    second = np.full(n, -1, np.int32)
    for r in range(n):
        b1 = -1.0
        b2 = -1.0
        for e in range(indptr[r], indptr[r + 1]):
            w = float(codes[e])
            if w > b1:
                b2 = b1
                second[r] = first[r]
                b1 = w
                first[r] = indices[e]
            elif w > b2:
                b2 = w
                second[r] = indices[e]
    return first, second


# The layout is a counting sort by (term, position) cut into four kernels over
# ranges (rows, then terms), so that Python can run the ranges on threads: every
# kernel releases the GIL, and each range writes a disjoint part of the output.
# Threads rather than numba's ``parallel=True``: the workqueue threading layer
# aborts the process when two threads enter parallel regions at once, and the
# streaming build already lays out shards on threads.


@nb.njit(cache=True, nogil=True)
def count_terms(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, lo: int, hi: int, df: np.ndarray) -> None:
    """``df[t]`` += postings of term ``t`` in positions ``[lo, hi)`` of the segment."""
    for p in range(lo, hi):
        r = rows[p]
        for e in range(indptr[r], indptr[r + 1]):
            df[indices[e]] += 1


@nb.njit(cache=True, nogil=True)
def scatter_postings(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, rows: np.ndarray, lo: int, hi: int,
    fill: np.ndarray, pos_of: np.ndarray, weight: np.ndarray,
) -> None:
    """File positions ``[lo, hi)`` term by term; ``fill[t]`` is where this range's next ``t`` goes."""
    for p in range(lo, hi):
        r = rows[p]
        for e in range(indptr[r], indptr[r + 1]):
            t = indices[e]
            j = fill[t]
            fill[t] = j + 1
            pos_of[j] = p
            weight[j] = values[e]


@nb.njit(cache=True, nogil=True)
def count_pairs(start: np.ndarray, pos_of: np.ndarray, block_size: int, t0: int, t1: int, pairs: np.ndarray) -> None:
    """``pairs[t + 1]`` = number of blocks term ``t`` occurs in, for ``t`` in ``[t0, t1)``."""
    for t in range(t0, t1):
        prev = -1
        cnt = 0
        for j in range(start[t], start[t + 1]):
            b = pos_of[j] // block_size
            if b != prev:
                cnt += 1
                prev = b
        pairs[t + 1] = cnt


@nb.njit(cache=True, nogil=True)
def write_pairs(
    start: np.ndarray, pos_of: np.ndarray, weight: np.ndarray, block_size: int, t0: int, t1: int,
    term_ptr: np.ndarray, levels: np.ndarray, units: np.ndarray, max_code: int,
    term_blocks: np.ndarray, term_max: np.ndarray, pair_off: np.ndarray, pair_base: np.ndarray, post_doc: np.ndarray,
    post_w: np.ndarray,
) -> None:
    """Bound, encode and write the (term, block) pairs of terms ``[t0, t1)``.

    ``term_blocks`` gets the u16 block id of each pair, ``term_max`` its u8 bound
    code (the first ``c >= 1`` with ``levels[c] >=`` the pair's largest weight),
    ``pair_off``/``pair_base`` its first posting (``pairs.set_pair_start``); ``post_doc`` the u8 position inside the
    block and ``post_w``, with ``max_code > 0``, the code ``round(w / units[c])``
    clipped to ``[1, max_code]`` (a kept weight is never rounded away), else the
    float weight.
    """
    for t in range(t0, t1):
        q = term_ptr[t]
        j = start[t]
        end = start[t + 1]
        while j < end:  # one (term, block) pair per iteration
            b = pos_of[j] // block_size
            stop = j
            best = np.float32(0.0)
            while stop < end and pos_of[stop] // block_size == b:
                if weight[stop] > best:
                    best = weight[stop]
                stop += 1
            c = bound_code(levels, best)
            term_blocks[q] = b
            term_max[q] = c
            set_pair_start(pair_off, pair_base, q, j)
            for x in range(j, stop):
                post_doc[x] = pos_of[x] - b * block_size
                if max_code > 0:
                    v = math.floor(weight[x] / units[c] + 0.5)
                    post_w[x] = min(max(v, 1), max_code)
                else:
                    post_w[x] = weight[x]
            q += 1
            j = stop


@nb.njit(cache=True, nogil=True)
def bound_code(levels: np.ndarray, w: float) -> np.uint8:
    """The smallest code ``c >= 1`` with ``levels[c] >= w`` (255 if none: the levels end at the maximum)."""
    a = 1
    c = levels.size - 1
    while a < c:
        mid = (a + c) >> 1
        if levels[mid] < w:
            a = mid + 1
        else:
            c = mid
    return np.uint8(a)


@nb.njit(cache=True, nogil=True)
def to_csr(seg, block_size: int, n_docs: int):
    """Invert a segment back to CSR rows by position, with dequantised float32 weights."""
    term_ptr, term_blocks, term_max, pair_off, post_doc, post_w = seg[0], seg[1], seg[2], seg[3], seg[4], seg[5]
    units = seg[8]
    pair_base = seg[9]
    vocab = term_ptr.size - 1
    counts = np.zeros(n_docs + 1, np.int64)
    for t in range(vocab):
        for q in range(term_ptr[t], term_ptr[t + 1]):
            base = np.int64(term_blocks[q]) * block_size
            for j in range(pair_start(pair_off, pair_base, q), pair_start(pair_off, pair_base, q + 1)):
                counts[base + post_doc[j] + 1] += 1
    indptr = np.cumsum(counts)
    fill = indptr[:-1].copy()
    nnz = indptr[n_docs]
    indices = np.empty(nnz, np.int32)
    weights = np.empty(nnz, np.float32)
    for t in range(vocab):  # increasing t keeps every row's terms sorted
        for q in range(term_ptr[t], term_ptr[t + 1]):
            base = np.int64(term_blocks[q]) * block_size
            unit = units[term_max[q]]
            for j in range(pair_start(pair_off, pair_base, q), pair_start(pair_off, pair_base, q + 1)):
                p = base + post_doc[j]
                m = fill[p]
                fill[p] = m + 1
                indices[m] = t
                weights[m] = np.float32(post_w[j]) * unit
    return indptr, indices, weights


@nb.njit(cache=True, nogil=True)
def _top_terms(indices, codes, lo, hi, m, out_t, out_w) -> int:
    """The ``m`` heaviest (term, weight) pairs of one row into ``out_*``; returns how many."""
    n = 0
    for e in range(lo, hi):
        w = float(codes[e])
        if n < m:
            j = n
            n += 1
        elif w > out_w[n - 1]:
            j = n - 1
        else:
            continue
        while j > 0 and out_w[j - 1] < w:  # insertion into a descending list
            out_w[j] = out_w[j - 1]
            out_t[j] = out_t[j - 1]
            j -= 1
        out_w[j] = w
        out_t[j] = indices[e]
    return n


@nb.njit(cache=True, nogil=True)
def assign_to_seeds(indptr, indices, codes, seeds, m, vocab_size) -> np.ndarray:
    """Each row's most similar seed row, by dot product over both rows' ``m`` heaviest terms.

    One round of "pick random centroids, assign": documents assigned to the same
    seed share topics, so laying them out together tightens block maxima. An
    inverted list over the seeds' top terms makes each assignment cost a few
    dozen additions. Rows matching no seed get -1.
    """
    n = indptr.size - 1
    ns = seeds.size
    tt = np.empty(m, np.int32)
    tw = np.empty(m, np.float64)
    cnt = np.zeros(vocab_size + 1, np.int64)
    for s in range(ns):
        r = seeds[s]
        k = _top_terms(indices, codes, indptr[r], indptr[r + 1], m, tt, tw)
        for j in range(k):
            cnt[tt[j] + 1] += 1
    ptr = np.cumsum(cnt)
    fill = ptr[:-1].copy()
    lst_s = np.empty(ptr[vocab_size], np.int32)
    lst_w = np.empty(ptr[vocab_size], np.float32)
    for s in range(ns):
        r = seeds[s]
        k = _top_terms(indices, codes, indptr[r], indptr[r + 1], m, tt, tw)
        for j in range(k):
            x = fill[tt[j]]
            fill[tt[j]] = x + 1
            lst_s[x] = s
            lst_w[x] = tw[j]
    acc = np.zeros(ns, np.float32)
    touched = np.empty(ns, np.int32)
    out = np.full(n, -1, np.int32)
    for r in range(n):
        k = _top_terms(indices, codes, indptr[r], indptr[r + 1], m, tt, tw)
        nt = 0
        for j in range(k):
            t = tt[j]
            for x in range(ptr[t], ptr[t + 1]):
                s = lst_s[x]
                if acc[s] == 0:
                    touched[nt] = s
                    nt += 1
                acc[s] += tw[j] * lst_w[x]
        best = 0.0
        for i in range(nt):
            s = touched[i]
            if acc[s] > best:
                best = acc[s]
                out[r] = s
            acc[s] = 0.0
    return out
