"""Block-max building blocks shared by the exact and approximate query loops.

A segment's arguments travel as one tuple ``seg = (term_ptr, term_blocks,
term_max, pair_off, post_doc, post_w, doc_order, levels, units, pair_base, ...)``
(see docs/index-format.md; pair pointers are decoded by ``pairs.pair_start``);
its length, 10, tells ``dispatch.py`` it is the block layout.
A (term, block) pair with bound code ``c`` has upper bound ``levels[c]`` and
weights ``post_w * units[c]``; both are in score units.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels.pairs import pair_start
from laconic.index.kernels.prefetch import prefetch
from laconic.index.kernels.topk_heap import heap_push, worse

N_BUCKETS = 2048  # granularity of the block visiting order (fraction of the best bound)
BOUND_SLACK = 1e-4  # relative float32 slack: a bound must never undercut a true score
PREFETCH_AHEAD = 12  # list entries between a posting prefetch and its use (a longer lead gained nothing)
DECODE_AHEAD = 32  # noted pairs between a pointer/bound prefetch and the decode that reads them
NEXT_TERM_LINES = 4  # cache lines of the next term's block ids and bound codes asked for before they are read
SCAN_CHUNK = 8  # pairs the filing scan skips at once when no block between the first and last is kept


@nb.njit(cache=True, nogil=True)
def present_terms(q_t: np.ndarray, q_w: np.ndarray, term_ptr: np.ndarray) -> np.ndarray:
    """Positions in ``q_t`` of the query terms this segment holds, in query order.

    Terms outside the vocabulary, absent from the segment or with weight <= 0
    are dropped (they cannot change any score).
    """
    vocab = term_ptr.size - 1
    keep = np.empty(q_t.size, np.int64)
    n = 0
    for i in range(q_t.size):
        t = q_t[i]
        if 0 <= t < vocab and q_w[i] > 0 and term_ptr[t + 1] > term_ptr[t]:
            keep[n] = i
            n += 1
    return keep[:n]


@nb.njit(cache=True, nogil=True)
def query_terms(q_t: np.ndarray, q_w: np.ndarray, term_ptr: np.ndarray):
    """The query terms this segment holds (``present_terms``): their pair ranges ``[lo, hi)`` and weights."""
    idx = present_terms(q_t, q_w, term_ptr)
    lo = np.empty(idx.size, np.int64)
    hi = np.empty(idx.size, np.int64)
    w = np.empty(idx.size, np.float32)
    for j in range(idx.size):
        t = q_t[idx[j]]
        lo[j] = term_ptr[t]
        hi[j] = term_ptr[t + 1]
        w[j] = q_w[idx[j]]
    return lo, hi, w


@nb.njit(cache=True, nogil=True)
def pair_count(lo, hi) -> int:
    """(term, block) pairs of the query terms: what the bounding pass reads."""
    total = 0
    for i in range(lo.size):
        total += hi[i] - lo[i]
    return total


@nb.njit(cache=True, nogil=True)
def accumulate_bounds(lo, hi, w, seg, ub) -> float:
    """``ub[b] = sum_i w[i] * bound of term i in block b`` over the query terms; returns max(ub).

    This pass touches every (term, block) pair of the query terms once: BMP's
    only cost proportional to list lengths, so it does nothing else (it used to
    count every block's pairs too, a visible share of its time; ``fill_lists``
    counts only the kept blocks'). ``ub`` must be zero on entry.
    """
    term_blocks = seg[1]
    term_max = seg[2]
    levels = seg[7]
    # Block ids and bound codes are read 4 and 8 at a time: a pair then costs a table read and a read
    # and write of its block's bound, two loads fewer, and the pass ran faster in session 21's probe
    # (docs/BENCHMARKS.md, "Skipping, prefetching, fewer warm-up blocks"). Little-endian, as the
    # format (docs/index-format.md) and numba's targets are.
    ids64 = term_blocks[: term_blocks.size - term_blocks.size % 4].view(np.uint64)
    codes64 = term_max[: term_max.size - term_max.size % 8].view(np.uint64)
    for i in range(lo.size):
        wi = w[i]
        if i + 1 < lo.size:
            # Each term's pairs are a new pair of streams somewhere else in the segment; the hardware
            # prefetcher only finds a stream after a few misses, so ask for the next term's first lines now.
            nxt = lo[i + 1]
            for z in range(NEXT_TERM_LINES):
                if nxt + 32 * z < hi[i + 1]:  # 32 u16 block ids, 64 u8 codes per 64-byte line
                    prefetch(term_blocks, nxt + 32 * z)
                if nxt + 64 * z < hi[i + 1]:
                    prefetch(term_max, nxt + 64 * z)
        j = lo[i]
        h = hi[i]
        while j < h and (j & 7) != 0:
            ub[term_blocks[j]] += wi * levels[term_max[j]]
            j += 1
        while j + 8 <= h:  # 8 pairs from three 8-byte loads (same order, same sums)
            ids = ids64[j >> 2]
            ids2 = ids64[(j >> 2) + 1]
            codes = codes64[j >> 3]
            ub[ids & 0xFFFF] += wi * levels[codes & 0xFF]
            ub[(ids >> 16) & 0xFFFF] += wi * levels[(codes >> 8) & 0xFF]
            ub[(ids >> 32) & 0xFFFF] += wi * levels[(codes >> 16) & 0xFF]
            ub[ids >> 48] += wi * levels[(codes >> 24) & 0xFF]
            ub[ids2 & 0xFFFF] += wi * levels[(codes >> 32) & 0xFF]
            ub[(ids2 >> 16) & 0xFFFF] += wi * levels[(codes >> 40) & 0xFF]
            ub[(ids2 >> 32) & 0xFFFF] += wi * levels[(codes >> 48) & 0xFF]
            ub[ids2 >> 48] += wi * levels[codes >> 56]
            j += 8
        while j < h:
            ub[term_blocks[j]] += wi * levels[term_max[j]]
            j += 1
    best = 0.0
    for b in range(ub.size):
        if ub[b] > best:
            best = ub[b]
    return best


@nb.njit(cache=True, nogil=True, inline="always")
def _bucket(v: float, inv: float, nbk: int) -> int:
    """Bucket of a positive bound ``v``: 0 for the best bound, clamped at 0."""
    q = nbk - 1 - int(v * inv)
    return q if q > 0 else 0


@nb.njit(cache=True, nogil=True)
def bucket_order(ub: np.ndarray, best: float, order: np.ndarray, starts: np.ndarray) -> None:
    """Counting-sort blocks with a positive bound into ``N_BUCKETS`` buckets, best first.

    Bucket ``q`` (``q = 0`` highest) holds ``order[starts[q]:starts[q + 1]]``, all
    with bounds at most ``best * (N_BUCKETS - q) / N_BUCKETS``. O(blocks), no
    full sort: exact search rarely gets past the first buckets.
    """
    nbk = N_BUCKETS
    starts[:] = 0
    inv = nbk / best
    for b in range(ub.size):
        if ub[b] > 0:
            starts[_bucket(ub[b], inv, nbk) + 1] += 1
    for q in range(nbk):
        starts[q + 1] += starts[q]
    fill = starts[:nbk].copy()
    for b in range(ub.size):
        if ub[b] > 0:
            q = _bucket(ub[b], inv, nbk)
            order[fill[q]] = b
            fill[q] += 1


@nb.njit(cache=True, nogil=True)
def find_pair(term_blocks, lo, hi, b) -> int:
    """Index of block ``b`` in one term's sorted block ids ``term_blocks[lo:hi]``, or -1 (binary search)."""
    a = lo
    c = hi
    while a < c:
        mid = (a + c) >> 1
        if term_blocks[mid] < b:
            a = mid + 1
        else:
            c = mid
    return a if a < hi and term_blocks[a] == b else -1


@nb.njit(cache=True, nogil=True)
def score_block(b, lo, hi, w, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    """Score every document of block ``b`` exactly (binary searches) and offer it to the heap.

    For each query term, a binary search over its block ids finds its (term,
    block) pair; the pair's postings add ``w * code`` into ``acc`` (one slot
    per position; ``w`` times the pair's unit, once per pair). Terms are added in query order, as in the exhaustive
    oracle, so equal vectors get bit-identical scores. Returns the new heap
    size; ``acc`` is left zeroed. ``pos_keys``: see ``offer_block``.
    """
    term_blocks = seg[1]
    term_max = seg[2]
    pair_off = seg[3]
    post_doc = seg[4]
    post_w = seg[5]
    doc_order = seg[6]
    units = seg[8]
    pair_base = seg[9]
    for i in range(lo.size):
        a = find_pair(term_blocks, lo[i], hi[i], b)
        if a >= 0:
            wi = w[i] * units[term_max[a]]
            for p in range(pair_start(pair_off, pair_base, a), pair_start(pair_off, pair_base, a + 1)):
                acc[post_doc[p]] += wi * post_w[p]
    return offer_block(b, block_size, acc, doc_order, deleted, hs, ho, size, k, pos_keys)


@nb.njit(cache=True, nogil=True, inline="always")
def offer_block(b, block_size, acc, doc_order, deleted, hs, ho, size, k, pos_keys) -> int:
    """Offer block ``b``'s scored documents (``acc``, left zeroed) to the heap, skipping deleted ones.

    Hits are keyed by global order, or by segment position when ``pos_keys``
    (the candidate heap of ``search_cut``, which rescores positions).
    """
    first = b * block_size
    for d in range(block_size):
        s = acc[d]
        if s > 0:
            acc[d] = 0.0
            g = doc_order[first + d]
            if deleted[g]:
                continue
            key = first + d if pos_keys else g
            sc = np.float32(s)
            if size < k or worse(hs[0], ho[0], sc, key):
                size = heap_push(hs, ho, size, k, sc, key)
    return size


@nb.njit(cache=True, nogil=True)
def explain_docs(q_t, q_w, positions, seg, block_size) -> np.ndarray:
    """Stored (dequantised) weight of each query term in each document (0 when absent).

    Returns a float64 (len(positions), len(q_t)) matrix; used by ``explain``.
    """
    term_ptr = seg[0]
    term_blocks = seg[1]
    term_max = seg[2]
    pair_off = seg[3]
    post_doc = seg[4]
    post_w = seg[5]
    units = seg[8]
    pair_base = seg[9]
    vocab = term_ptr.size - 1
    out = np.zeros((positions.size, q_t.size), np.float64)
    for di in range(positions.size):
        p = positions[di]
        b = p // block_size
        off = p - b * block_size
        for i in range(q_t.size):
            t = q_t[i]
            if t < 0 or t >= vocab:
                continue
            a = find_pair(term_blocks, term_ptr[t], term_ptr[t + 1], b)
            if a >= 0:
                for j in range(pair_start(pair_off, pair_base, a), pair_start(pair_off, pair_base, a + 1)):
                    if post_doc[j] == off:
                        out[di, i] = np.float32(post_w[j]) * units[term_max[a]]
    return out


@nb.njit(cache=True, nogil=True)
def _grown(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` copied into a new array of length ``n >= a.size``."""
    out = np.empty(n, a.dtype)
    out[: a.size] = a
    return out


@nb.njit(cache=True, nogil=True)
def _note_kept(lo, hi, term_blocks, keep, n_kept_below, cnt, kept_pair, kept_term, kept_block, n, i0, j0):
    """Scan query pairs from term ``i0``, pair ``j0``, noting kept ones until the buffers are full.

    A term's block ids increase, so ``SCAN_CHUNK`` pairs hold a kept block only
    if one lies between the first one's block and the last one's:
    ``n_kept_below`` (kept blocks with a smaller id, ``n_blocks + 1`` entries)
    answers that with two reads. Kept blocks are a few percent of a long
    query's blocks and scattered, so most chunks are skipped whole instead of
    testing each pair. Returns ``(n, i, j)``: entries noted so far and where to
    resume (``i == lo.size``: done).
    """
    cap = kept_pair.size
    j = j0
    for i in range(i0, lo.size):
        if i > i0:
            j = lo[i]
        h = hi[i]
        while j < h:
            e = j + SCAN_CHUNK
            if e <= h and n_kept_below[term_blocks[e - 1] + 1] == n_kept_below[term_blocks[j]]:
                j = e
                continue
            e = min(e, h)
            while j < e:
                b = term_blocks[j]
                if keep[b]:
                    if n == cap:
                        return n, i, j
                    kept_pair[n] = j
                    kept_term[n] = i
                    kept_block[n] = b
                    n += 1
                    cnt[b + 1] += 1
                j += 1
    return n, lo.size, 0


@nb.njit(cache=True, nogil=True)
def fill_lists(lo, hi, w, seg, keep, cnt):
    """Per-query "forward lists": each kept block's pairs of the query terms, as posting spans and ``w x unit``.

    Scoring a block from its list walks exactly the pairs it holds; the
    binary-search path (``score_block``) costs one search per query term per
    block, ~300 for a 300-term query, most of them misses. Only blocks flagged
    in ``keep`` (those whose bound can still beat the k-th score) are filed, so
    the entries are a small fraction of the query's pairs. Entries keep query
    order within a block, so scores are bit-identical to ``score_block``'s.

    Two loops, so that memory is never waited on one pair at a time:
    1. a scan of the query's pairs that only notes the kept ones (pair, term,
       block) and counts them per block; its only random reads are in the
       small per-block arrays, and it skips ``SCAN_CHUNK`` pairs at a time
       where no kept block can lie among them (``_note_kept``);
    2. a loop over the noted pairs that decodes each one's posting range and
       unit (``pair_off``, ``pair_base``, ``term_max``: random reads, but
       independent ones, prefetched ``DECODE_AHEAD`` entries ahead).
    Decoding inside the scan instead stalled it on every kept pair
    (docs/BENCHMARKS.md, "Exact search without waiting on memory", and
    "Skipping, prefetching, fewer warm-up blocks").

    ``cnt`` (``n_blocks + 1`` integers) must be zero on entry; it is left zeroed.
    Returns ``(starts, spans, weights)``: block ``b``'s entries are
    ``[starts[b], starts[b + 1])``, entry ``s`` covers postings
    ``[spans[s, 0], spans[s, 1])`` with query weight x unit ``weights[s]``.
    """
    term_blocks = seg[1]
    term_max = seg[2]
    pair_off = seg[3]
    units = seg[8]
    pair_base = seg[9]
    n_blocks = keep.size
    cap = max(1024, pair_count(lo, hi) >> 6)  # exact search files ~1.5% of a long query's pairs; grown when short
    kept_pair = np.empty(cap, np.int64)
    kept_term = np.empty(cap, np.int32)
    kept_block = np.empty(cap, np.int32)
    n_kept_below = np.empty(n_blocks + 1, np.int32)
    n_kept_below[0] = 0
    for b in range(n_blocks):
        n_kept_below[b + 1] = n_kept_below[b] + keep[b]
    n, i, j = _note_kept(
        lo, hi, term_blocks, keep, n_kept_below, cnt, kept_pair, kept_term, kept_block, 0, 0, lo[0] if lo.size else 0
    )
    while i < lo.size:  # buffers full: grow them (outside the scan, which stays a tight loop) and go on
        cap *= 2
        kept_pair = _grown(kept_pair, cap)
        kept_term = _grown(kept_term, cap)
        kept_block = _grown(kept_block, cap)
        n, i, j = _note_kept(lo, hi, term_blocks, keep, n_kept_below, cnt, kept_pair, kept_term, kept_block, n, i, j)
    starts = np.empty(n_blocks + 1, np.int64)
    starts[0] = 0
    for b in range(n_blocks):
        starts[b + 1] = starts[b] + cnt[b + 1]
        cnt[b + 1] = 0
    spans = np.empty((n, 2), np.int64)
    weights = np.empty(n, np.float32)
    fill = starts[:n_blocks].copy()
    for e in range(n):  # in scan order, so each block's entries stay in query order
        if e + DECODE_AHEAD < n:  # independent reads, but the CPU's window holds too few of them to hide memory
            ahead = kept_pair[e + DECODE_AHEAD]
            prefetch(pair_off, ahead)
            prefetch(term_max, ahead)
            prefetch(pair_base, ahead >> 8)
        j = kept_pair[e]
        b = kept_block[e]
        s = fill[b]
        fill[b] = s + 1
        spans[s, 0] = pair_start(pair_off, pair_base, j)
        spans[s, 1] = pair_start(pair_off, pair_base, j + 1)
        weights[s] = w[kept_term[e]] * units[term_max[j]]
    return starts, spans, weights


@nb.njit(cache=True, nogil=True)
def score_listed_block(b, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k, pos_keys=False) -> int:
    """``score_block`` over the block's own pair list (same sums, same order: bit-identical scores).

    Each entry's postings lie far from the last one's (a cache miss each); the
    loop asks for the postings ``PREFETCH_AHEAD`` entries ahead, so those
    misses overlap instead of queueing (docs/BENCHMARKS.md, "Exact search
    without waiting on memory").
    """
    post_doc = seg[4]
    post_w = seg[5]
    doc_order = seg[6]
    end = starts[b + 1]
    for s in range(starts[b], end):
        if s + PREFETCH_AHEAD < end:
            prefetch(post_doc, spans[s + PREFETCH_AHEAD, 0])
            prefetch(post_w, spans[s + PREFETCH_AHEAD, 0])
        wq = weights[s]
        for p in range(spans[s, 0], spans[s, 1]):
            acc[post_doc[p]] += wq * post_w[p]
    return offer_block(b, block_size, acc, doc_order, deleted, hs, ho, size, k, pos_keys)


@nb.njit(cache=True, nogil=True)
def add_term(seg, t, wi, block_size, acc) -> None:
    """Add term ``t``'s postings times ``wi`` into the dense accumulator ``acc`` (the exhaustive oracle's step)."""
    term_ptr, term_blocks, term_max, pair_off, post_doc, post_w = seg[:6]
    units = seg[8]
    pair_base = seg[9]
    for q in range(term_ptr[t], term_ptr[t + 1]):
        base = np.int64(term_blocks[q]) * block_size
        wq = wi * units[term_max[q]]
        for j in range(pair_start(pair_off, pair_base, q), pair_start(pair_off, pair_base, q + 1)):
            acc[base + post_doc[j]] += wq * post_w[j]
