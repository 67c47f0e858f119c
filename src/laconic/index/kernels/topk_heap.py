"""The one top-k heap every query kernel shares.

A bounded min-heap over ``(score, order)`` pairs held in two preallocated
arrays (no objects, so numba keeps it in registers and plain memory). The root
is the *worst* kept hit: lower score, or equal score and later insertion order.
Ordering ties by the document's global insertion order (not its position after
reordering) is what makes exact mode deterministic and equal to the oracle.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_KW = dict(cache=True, nogil=True, inline="always")


@nb.njit(**_KW)
def worse(s1: float, o1: int, s2: float, o2: int) -> bool:
    """True when hit 1 ranks below hit 2 (lower score, or same score and later order)."""
    return s1 < s2 or (s1 == s2 and o1 > o2)


@nb.njit(cache=True, nogil=True)
def _sift_down(hs: np.ndarray, ho: np.ndarray, size: int, i: int) -> None:
    s = hs[i]
    o = ho[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and worse(hs[c + 1], ho[c + 1], hs[c], ho[c]):
            c += 1
        if worse(hs[c], ho[c], s, o):
            hs[i] = hs[c]
            ho[i] = ho[c]
            i = c
        else:
            break
    hs[i] = s
    ho[i] = o


@nb.njit(cache=True, nogil=True)
def heap_push(hs: np.ndarray, ho: np.ndarray, size: int, k: int, s: float, o: int) -> int:
    """Offer hit ``(s, o)``; returns the new heap size (at most ``k``)."""
    if size < k:
        i = size
        while i > 0:
            p = (i - 1) >> 1
            if worse(s, o, hs[p], ho[p]):
                hs[i] = hs[p]
                ho[i] = ho[p]
                i = p
            else:
                break
        hs[i] = s
        ho[i] = o
        return size + 1
    if worse(hs[0], ho[0], s, o):
        hs[0] = s
        ho[0] = o
        _sift_down(hs, ho, size, 0)
    return size


@nb.njit(cache=True, nogil=True)
def heap_threshold(hs: np.ndarray, size: int, k: int) -> float:
    """Score a new hit must reach to enter a full heap (0 while it is not full)."""
    if size < k:
        return 0.0
    return hs[0]


@nb.njit(cache=True, nogil=True)
def heap_sort_desc(hs: np.ndarray, ho: np.ndarray, size: int) -> None:
    """Sort the first ``size`` entries in place, best first (destroys the heap)."""
    n = size
    while n > 1:
        s = hs[0]
        o = ho[0]
        n -= 1
        hs[0] = hs[n]
        ho[0] = ho[n]
        _sift_down(hs, ho, n, 0)
        hs[n] = s
        ho[n] = o
