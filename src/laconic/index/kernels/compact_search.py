"""Block-max building blocks over a compact segment, read in place (format version 4).

The same four steps as ``blocks.py`` (bound every block, file the kept blocks'
pairs, score a block from its list, score a block by looking each term up), over
the entry streams of ``compact.py`` instead of the block layout's arrays. A
segment's tuple (``Segment.seg``) then holds, by position::

    0 term_ent   i64 (V + 1)  term t's entries are [term_ent[t], term_ent[t + 1])
    1 ent_gap    u8, 2 ent_code u8, 3 ent_x u8   the entries
    4 post_doc, 5 post_w                           postings of ordinary entries
    6 doc_order u32, 7 levels, 8 units             as in a block segment
    9 term_post  i64 (V + 1)  first posting of term t's ordinary entries
    10 anc_block u16, 11 anc_post u32              skip anchors (below)

Scores are bit-identical to the block layout's: the same products in the same
order (query weight x the pair's unit, then x the posting's code).

Skip anchors: entry ``a x SKIP`` has anchor ``a``: ``anc_block[a]`` is its term's
running block id before that entry, plus 1 (0: the term starts there), and
``anc_post[a]`` the term's postings before it. A lookup binary-searches the
anchors inside the term, then scans at most ``SKIP`` entries. They cost 6 bytes
per ``SKIP`` entries, in RAM only (derived on open).

Why by hand: the index's own query processor (see ``blocks.py``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.blocks import NEXT_TERM_LINES, PREFETCH_AHEAD, SCAN_CHUNK, _grown, offer_block, pair_count
from laconic.index.kernels.compact import PAIR_GAP, SINGLE, SINGLE_GAP
from laconic.index.kernels.prefetch import prefetch

SKIP = 128  # entries per skip anchor
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_BIT6 = np.uint64(0x4040404040404040)
_BYTE = np.uint64(0xFF)


@nb.njit(cache=True, nogil=True, inline="always")
def _jump(code, x) -> int:
    return np.int64(code) | (np.int64(x) << 8)


@nb.njit(cache=True, nogil=True, inline="always")
def _gap(g) -> int:
    """Block-id gap of a pair entry (``g != 0``)."""
    return np.int64(g) & (SINGLE_GAP if g & SINGLE else PAIR_GAP)


@nb.njit(cache=True, nogil=True, inline="always")
def _has_zero_byte(v) -> bool:
    return ((v - _ONES) & ~v & _HIGHS) != 0


@nb.njit(cache=True, nogil=True, inline="always")
def _gaps8(gg):
    """The 8 gaps of 8 pair entries (no jump among them), one per byte: a one-posting entry's bit 6 is ``r``."""
    return gg & _LOW7 & ~((gg >> np.uint64(1)) & _BIT6)


@nb.njit(cache=True, nogil=True, inline="always")
def _hsum(v) -> int:
    """Sum of the 8 bytes of ``v``."""
    lanes = np.uint64(0x00FF00FF00FF00FF)
    v16 = (v & lanes) + ((v >> np.uint64(8)) & lanes)
    return np.int64((v16 * np.uint64(0x0001000100010001)) >> np.uint64(48))


@nb.njit(cache=True, nogil=True, inline="always")
def _next_term(lo, hi, i, ent_gap, ent_code, ent_x, with_x) -> None:
    """Ask for the next term's first lines of each stream before they are read (as ``blocks.py`` does)."""
    if i + 1 < lo.size:
        nxt = lo[i + 1]
        for z in range(NEXT_TERM_LINES):
            if nxt + 64 * z < hi[i + 1]:
                prefetch(ent_gap, nxt + 64 * z)
                prefetch(ent_code, nxt + 64 * z)
                if with_x:
                    prefetch(ent_x, nxt + 64 * z)


@nb.njit(cache=True, nogil=True)
def bounds(lo, hi, w, seg, ub) -> float:
    """``accumulate_bounds`` over entries: same terms, order and sums. Returns max(ub).

    Eight entries at a time from two 8-byte loads where no jump is among them
    (a zero gap byte); block ids index ``ub`` as unsigned integers (numba checks
    a signed index for wrap-around on every access).
    """
    ent_gap = seg[1]
    ent_code = seg[2]
    ent_x = seg[3]
    levels = seg[7]
    g64 = ent_gap[: ent_gap.size - ent_gap.size % 8].view(np.uint64)
    c64 = ent_code[: ent_code.size - ent_code.size % 8].view(np.uint64)
    for i in range(lo.size):
        wi = w[i]
        _next_term(lo, hi, i, ent_gap, ent_code, ent_x, False)
        prev = np.int64(-1)
        j = lo[i]
        h = hi[i]
        while j < h:
            if (j & 7) == 0 and j + 8 <= h:
                gg = g64[j >> 3]
                if not _has_zero_byte(gg):
                    cc = c64[j >> 3]
                    d = _gaps8(gg)
                    b = np.uint64(prev)  # -1 wraps, and the first gap (>= 1) wraps it back
                    for s in range(0, 64, 8):
                        b += (d >> np.uint64(s)) & _BYTE
                        ub[b] += wi * levels[(cc >> np.uint64(s)) & _BYTE]
                    prev = np.int64(b)
                    j += 8
                    continue
            g = ent_gap[j]
            if g == 0:
                prev += _jump(ent_code[j], ent_x[j])
            else:
                prev += _gap(g)
                ub[np.uint64(prev)] += wi * levels[ent_code[j]]
            j += 1
    best = 0.0
    for b in range(ub.size):
        if ub[b] > best:
            best = ub[b]
    return best


@nb.njit(cache=True, nogil=True)
def _note_kept(lo, hi, w, p0, seg, keep, n_kept_below, cnt, k_block, k_a, k_b, k_w, n, i0, j0, prev0, ptr0):
    """Scan entries from term ``i0``, entry ``j0`` (running block id ``prev0``, posting ``ptr0``), noting kept pairs.

    Stops when the buffers are full. Returns ``(n, i, j, prev, ptr)``: entries
    noted and where to resume (``i == lo.size``: done). With the buffers grown
    inside this loop the scan ran 11-19x slower in a probe (likely numba
    reference counting the reassigned arrays; not inspected), so it stays tight
    the way ``blocks._note_kept`` does.
    """
    ent_gap = seg[1]
    ent_code = seg[2]
    ent_x = seg[3]
    units = seg[8]
    cap = k_block.size
    g64 = ent_gap[: ent_gap.size - ent_gap.size % 8].view(np.uint64)
    x64 = ent_x[: ent_x.size - ent_x.size % 8].view(np.uint64)
    j = j0
    prev = prev0
    ptr = ptr0
    for i in range(i0, lo.size):
        if i > i0:
            j = lo[i]
            prev = np.int64(-1)
            ptr = p0[i]
        _next_term(lo, hi, i, ent_gap, ent_code, ent_x, True)
        h = hi[i]
        while j < h:
            if (j & 7) == 0 and j + SCAN_CHUNK <= h:
                gg = g64[j >> 3]
                if not _has_zero_byte(gg):
                    last = prev + _hsum(_gaps8(gg))
                    if n_kept_below[np.uint64(last + 1)] == n_kept_below[np.uint64(prev + 1)]:
                        ordinary = ((gg >> np.uint64(7)) & _ONES) ^ _ONES  # 1 per ordinary entry's byte
                        ptr += _hsum(x64[j >> 3] & (ordinary * _BYTE)) + _hsum(ordinary)
                        prev = last
                        j += SCAN_CHUNK
                        continue
            g = np.int64(ent_gap[j])
            x = np.int64(ent_x[j])
            if g == 0:
                prev += _jump(ent_code[j], x)
                j += 1
                continue
            b = prev + _gap(g)
            one = (g & SINGLE) != 0
            if keep[np.uint64(b)]:
                if n == cap:
                    return n, i, j, prev, ptr
                k_block[n] = b
                if one:
                    k_a[n] = -1 - (x & 63)
                    k_b[n] = 255 - ((((g >> 6) & 1) << 2) | (x >> 6))
                else:
                    k_a[n] = ptr
                    k_b[n] = ptr + x + 1
                k_w[n] = w[i] * units[ent_code[j]]
                cnt[b + 1] += 1
                n += 1
            prev = b
            if not one:
                ptr += x + 1
            j += 1
    return n, lo.size, 0, np.int64(-1), np.int64(0)


@nb.njit(cache=True, nogil=True)
def fill_lists(lo, hi, w, p0, seg, keep, cnt):
    """``blocks.fill_lists`` over entries: each kept block's pairs of the query terms, in query order.

    One scan keeps a running block id and posting pointer per term, and skips
    ``SCAN_CHUNK`` (8) entries at once when no kept block lies in the ids they
    span (their gap sum, and their ordinary entries' posting counts, from three
    8-byte loads). A list entry is ``spans[s] = (first, end)`` postings of an
    ordinary pair, or ``(-1 - position, code)`` of a one-posting pair, with
    ``weights[s]`` the query weight x the pair's unit. ``cnt`` must be zero on
    entry and is left zeroed.
    """
    n_blocks = keep.size
    n_kept_below = np.empty(n_blocks + 1, np.int32)
    n_kept_below[0] = 0
    for b in range(n_blocks):
        n_kept_below[b + 1] = n_kept_below[b] + keep[b]
    cap = max(1024, pair_count(lo, hi) >> 6)  # as blocks.fill_lists
    k_block = np.empty(cap, np.int64)
    k_a = np.empty(cap, np.int64)
    k_b = np.empty(cap, np.int64)
    k_w = np.empty(cap, np.float32)
    state = _note_kept(lo, hi, w, p0, seg, keep, n_kept_below, cnt, k_block, k_a, k_b, k_w, 0, 0,
                       lo[0] if lo.size else 0, np.int64(-1), p0[0] if lo.size else 0)
    while state[1] < lo.size:  # buffers full: grow them outside the scan and go on
        cap *= 2
        k_block = _grown(k_block, cap)
        k_a = _grown(k_a, cap)
        k_b = _grown(k_b, cap)
        k_w = _grown(k_w, cap)
        state = _note_kept(lo, hi, w, p0, seg, keep, n_kept_below, cnt, k_block, k_a, k_b, k_w, *state)
    n = state[0]
    starts = np.empty(n_blocks + 1, np.int64)
    starts[0] = 0
    for b in range(n_blocks):
        starts[b + 1] = starts[b] + cnt[b + 1]
        cnt[b + 1] = 0
    spans = np.empty((n, 2), np.int64)
    weights = np.empty(n, np.float32)
    fill = starts[:n_blocks].copy()
    for e in range(n):  # in scan order, so each block's entries stay in query order
        b = k_block[e]
        s = fill[b]
        fill[b] = s + 1
        spans[s, 0] = k_a[e]
        spans[s, 1] = k_b[e]
        weights[s] = k_w[e]
    return starts, spans, weights


@nb.njit(cache=True, nogil=True, inline="always")
def _add_listed(acc, a, b, wq, post_doc, post_w) -> None:
    """Add one list entry (see ``fill_lists``) into ``acc``."""
    if a < 0:
        acc[-1 - a] += wq * np.uint8(b)
    else:
        for p in range(a, b):
            acc[post_doc[p]] += wq * post_w[p]


@nb.njit(cache=True, nogil=True)
def score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    """``blocks.score_listed_block`` over a compact list (bit-identical scores)."""
    post_doc = seg[4]
    post_w = seg[5]
    end = starts[b + 1]
    for s in range(starts[b], end):
        if s + PREFETCH_AHEAD < end and spans[s + PREFETCH_AHEAD, 0] >= 0:
            prefetch(post_doc, spans[s + PREFETCH_AHEAD, 0])
            prefetch(post_w, spans[s + PREFETCH_AHEAD, 0])
        _add_listed(acc, spans[s, 0], spans[s, 1], weights[s], post_doc, post_w)
    return offer_block(b, block_size, acc, seg[6], deleted, hs, ho, size, k, pos_keys)


@nb.njit(cache=True, nogil=True)
def find_pair(seg, lo, hi, p0, b):
    """Term entries ``[lo, hi)`` (first posting ``p0``): ``(entry, a, b)`` of its pair in block ``b``, or entry -1.

    ``(a, b)`` is the pair as a list entry (see ``fill_lists``).
    """
    ent_gap = seg[1]
    ent_code = seg[2]
    ent_x = seg[3]
    anc_block = seg[10]
    anc_post = seg[11]
    first = (lo + SKIP - 1) // SKIP
    x = first
    y = (hi - 1) // SKIP + 1 if hi > lo else first
    while x < y:  # the last anchor inside the term whose running block id is below b
        mid = (x + y) >> 1
        if np.int64(anc_block[mid]) <= b:
            x = mid + 1
        else:
            y = mid
    e = lo
    prev = np.int64(-1)
    ptr = p0
    if x > first:
        e = (x - 1) * SKIP
        prev = np.int64(anc_block[x - 1]) - 1
        ptr = p0 + np.int64(anc_post[x - 1])
    while e < hi:
        g = np.int64(ent_gap[e])
        xe = np.int64(ent_x[e])
        if g == 0:
            prev += _jump(ent_code[e], xe)
        elif g & SINGLE:
            prev += g & SINGLE_GAP
            if prev >= b:
                if prev == b:
                    return e, -1 - (xe & 63), 255 - ((((g >> 6) & 1) << 2) | (xe >> 6))
                break
        else:
            prev += g
            if prev >= b:
                if prev == b:
                    return e, ptr, ptr + xe + 1
                break
            ptr += xe + 1
        e += 1
    return -1, 0, 0


@nb.njit(cache=True, nogil=True)
def score_block(b, lo, hi, w, p0, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    """``blocks.score_block`` over entries: each query term's pair in block ``b`` by its skip anchors."""
    post_doc = seg[4]
    post_w = seg[5]
    units = seg[8]
    ent_code = seg[2]
    for i in range(lo.size):
        e, a, c = find_pair(seg, lo[i], hi[i], p0[i], b)
        if e >= 0:
            _add_listed(acc, a, c, w[i] * units[ent_code[e]], post_doc, post_w)
    return offer_block(b, block_size, acc, seg[6], deleted, hs, ho, size, k, pos_keys)


@nb.njit(cache=True, nogil=True)
def explain_docs(q_t, q_w, positions, seg, block_size) -> np.ndarray:
    """``blocks.explain_docs`` over entries: stored weight of each query term in each document."""
    term_ent = seg[0]
    ent_code = seg[2]
    post_doc = seg[4]
    post_w = seg[5]
    units = seg[8]
    term_post = seg[9]
    vocab = term_ent.size - 1
    out = np.zeros((positions.size, q_t.size), np.float64)
    for di in range(positions.size):
        p = positions[di]
        b = p // block_size
        off = p - b * block_size
        for i in range(q_t.size):
            t = q_t[i]
            if t < 0 or t >= vocab:
                continue
            e, a, c = find_pair(seg, term_ent[t], term_ent[t + 1], term_post[t], b)
            if e < 0:
                continue
            unit = units[ent_code[e]]
            if a < 0:
                if -1 - a == off:
                    out[di, i] = np.float32(np.uint8(c)) * unit
            else:
                for j in range(a, c):
                    if post_doc[j] == off:
                        out[di, i] = np.float32(post_w[j]) * unit
    return out


@nb.njit(cache=True, nogil=True)
def add_term(seg, t, wi, block_size, acc) -> None:
    """Add ``wi`` x term ``t``'s stored weights into ``acc`` (one slot per position): the exhaustive oracle's step."""
    term_ent = seg[0]
    ent_gap = seg[1]
    ent_code = seg[2]
    ent_x = seg[3]
    post_doc = seg[4]
    post_w = seg[5]
    units = seg[8]
    prev = np.int64(-1)
    ptr = seg[9][t]
    for e in range(term_ent[t], term_ent[t + 1]):
        g = np.int64(ent_gap[e])
        x = np.int64(ent_x[e])
        if g == 0:
            prev += _jump(ent_code[e], x)
            continue
        prev += _gap(g)
        wq = wi * units[ent_code[e]]
        base = prev * block_size
        if g & SINGLE:
            acc[base + (x & 63)] += wq * np.uint8(255 - ((((g >> 6) & 1) << 2) | (x >> 6)))
        else:
            for j in range(ptr, ptr + x + 1):
                acc[base + post_doc[j]] += wq * post_w[j]
            ptr += x + 1
