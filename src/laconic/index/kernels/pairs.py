"""Pair pointers in format version 3: 16-bit offsets from an anchor every 256 pairs.

Pair ``q``'s first posting is ``pair_base[q >> 8] + ((pair_off[q] - pair_base[q >> 8]) mod 2^16)``.
``pair_base[k]`` is the full (int64) pointer of pair ``256 k``; ``pair_off[q]`` keeps
only the low 16 bits of pair ``q``'s pointer. A pair holds at most ``block_size <= 256``
postings, so a pointer is at most ``255 * 256 < 2^16`` past its chunk's anchor and the
low bits identify it. Why: a u32 pointer per pair was 4 of the 7 bytes every (term,
block) pair cost, and pairs are about 60% of an index (docs/index-format.md). Storing
low bits (not the distance to the anchor) lets each build thread write its own pairs
without knowing the anchor of a chunk another thread starts.
"""

from __future__ import annotations

import numba as nb
import numpy as np

CHUNK_SHIFT = 8  # one anchor per 2^8 pairs
LOW_MASK = 0xFFFF


@nb.njit(cache=True, nogil=True, inline="always")
def pair_start(pair_off, pair_base, q) -> int:
    """First posting of pair ``q`` (``q = n_pairs`` gives the number of postings)."""
    base = pair_base[q >> CHUNK_SHIFT]
    return base + ((np.int64(pair_off[q]) - base) & LOW_MASK)


@nb.njit(cache=True, nogil=True, inline="always")
def set_pair_start(pair_off, pair_base, q, start) -> None:
    """Record that pair ``q`` starts at posting ``start`` (the anchor too, when ``q`` opens a chunk)."""
    pair_off[q] = start & LOW_MASK
    if (q & ((1 << CHUNK_SHIFT) - 1)) == 0:
        pair_base[q >> CHUNK_SHIFT] = start


def n_anchors(n_pairs: int) -> int:
    """Length of ``pair_base`` for ``n_pairs`` pairs (it covers the end sentinel ``q = n_pairs``)."""
    return (int(n_pairs) >> CHUNK_SHIFT) + 1


def from_pointers(pair_ptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pair_off, pair_base)`` of a version-1/2 ``pair_ptr`` array (P + 1 full pointers).

    Raises ``ValueError`` when a pointer is not within 2^16 postings of its chunk's anchor
    (no valid index has one); the caller names the file.
    """
    ptr = np.asarray(pair_ptr, np.int64)
    base = np.ascontiguousarray(ptr[:: 1 << CHUNK_SHIFT])
    gap = ptr - np.repeat(base, 1 << CHUNK_SHIFT)[: ptr.size]
    if gap.size and (gap.min() < 0 or gap.max() > LOW_MASK):
        raise ValueError("a pair's postings start more than 65,535 postings past its chunk's first pair")
    return (ptr & LOW_MASK).astype(np.uint16), base
