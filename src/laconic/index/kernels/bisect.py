"""Recursive graph bisection (Dhulipala et al., KDD 2016): one level of it, over a list of partitions.

Why by hand: block-max search and the index size both depend on how many
(term, block) pairs the layout creates and how tight each pair's bound is.
Bisection puts documents that share terms into the same blocks; no library
we can depend on does it over our CSR arrays (PISA's implementation is C++
inside its indexer).

Each partition ``perm[a:b]`` is split at a block boundary into a left and a
right half. For ``iters`` rounds, every document gets the gain of moving it
to the other half, computed from the log-gap cost of each term,

    cost = d_L * log2(n_L / (d_L + 1)) + d_R * log2(n_R / (d_R + 1)),

(``d_L``, ``d_R``: the term's documents in each half) and the best-gaining
left and right documents are swapped in pairs while a swap still gains. A
round without swaps ends the partition early. The halves become the next
level's partitions (the Python driver, ``laconic.index.bisection``).
Weights only choose the terms: each document takes part with its ``m``
heaviest terms (``heaviest_rows``). Measured (docs/BENCHMARKS.md): 64 terms
left fewer (term, block) pairs than every term on the synthetic collections
and 2% more on SciFact, at a third to a fifth of the time; the light tail is
mostly noise to the clustering, and the heavy terms are the ones that set
block bounds.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from laconic.index.kernels.build import _top_terms


@nb.njit(cache=True, nogil=True, inline="always")
def _cost(d: float, n: float) -> float:
    return d * math.log2(n / (d + 1.0))


@nb.njit(cache=True, nogil=True)
def _move(indptr, indices, r, src, dst) -> None:
    for e in range(indptr[r], indptr[r + 1]):
        t = indices[e]
        src[t] -= 1
        dst[t] += 1


@nb.njit(cache=True, nogil=True)
def bisect_partitions(perm, bounds, mids, first, last, indptr, indices, iters, dl, dr, gl, gr, touched) -> int:
    """Bisect partitions ``first .. last - 1`` (``perm[bounds[p]:bounds[p + 1]]``, split at ``mids[p]``) in place.

    Returns the swaps made. A partition whose middle is one of its ends is left as is.

    Scratch (one set per thread): ``dl``, ``dr`` int32 and ``gl``, ``gr``
    float64, all of vocabulary size, ``dl``/``dr`` zero on entry and left
    zero; ``touched`` int32 of vocabulary size. Partitions are disjoint, so
    threads may run different partition ranges of one ``perm`` at once.
    """
    total = 0
    for p in range(first, last):
        a = bounds[p]
        b = bounds[p + 1]
        mid = mids[p]
        if mid <= a or mid >= b:
            continue
        nt = 0
        for i in range(a, b):
            r = perm[i]
            for e in range(indptr[r], indptr[r + 1]):
                t = indices[e]
                if dl[t] == 0 and dr[t] == 0:
                    touched[nt] = t
                    nt += 1
                if i < mid:
                    dl[t] += 1
                else:
                    dr[t] += 1
        n_l = float(mid - a)
        n_r = float(b - mid)
        gain = np.empty(b - a, np.float64)
        for _ in range(iters):
            for j in range(nt):
                t = touched[j]
                x = float(dl[t])
                y = float(dr[t])
                c0 = _cost(x, n_l) + _cost(y, n_r)
                gl[t] = c0 - (_cost(x - 1.0, n_l) + _cost(y + 1.0, n_r)) if x > 0 else 0.0
                gr[t] = c0 - (_cost(x + 1.0, n_l) + _cost(y - 1.0, n_r)) if y > 0 else 0.0
            for i in range(a, b):
                r = perm[i]
                g = 0.0
                side = gl if i < mid else gr
                for e in range(indptr[r], indptr[r + 1]):
                    g += side[indices[e]]
                gain[i - a] = g
            order_l = np.argsort(-gain[: mid - a])
            order_r = np.argsort(-gain[mid - a:])
            swaps = 0
            for j in range(min(order_l.size, order_r.size)):
                li = order_l[j]
                ri = order_r[j]
                if gain[li] + gain[mid - a + ri] <= 0.0:
                    break
                left = a + li
                right = mid + ri
                _move(indptr, indices, perm[left], dl, dr)
                _move(indptr, indices, perm[right], dr, dl)
                tmp = perm[left]
                perm[left] = perm[right]
                perm[right] = tmp
                swaps += 1
            total += swaps
            if swaps == 0:
                break
        for j in range(nt):
            t = touched[j]
            dl[t] = 0
            dr[t] = 0
    return total


@nb.njit(cache=True, nogil=True)
def heaviest_rows(indptr, indices, codes, m):
    """CSR ``(indptr, indices)`` of each row's ``m`` heaviest terms (all of a shorter row)."""
    n = indptr.size - 1
    out_ptr = np.zeros(n + 1, np.int64)
    for r in range(n):
        out_ptr[r + 1] = out_ptr[r] + min(m, indptr[r + 1] - indptr[r])
    out = np.empty(out_ptr[n], indices.dtype)
    tt = np.empty(m, np.int32)
    tw = np.empty(m, np.float64)
    for r in range(n):
        k = _top_terms(indices, codes, indptr[r], indptr[r + 1], m, tt, tw)
        for j in range(k):
            out[out_ptr[r] + j] = tt[j]
    return out_ptr, out
