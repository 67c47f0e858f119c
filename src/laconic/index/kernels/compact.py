"""Compact segments (format version 4): the block layout's pairs as 3-byte entries, and back.

A compact segment stores exactly what a block segment holds (docs/index-format.md,
"Compact segments"), smaller: each (term, block) pair becomes one entry in three u8
streams ``ent_gap``, ``ent_code``, ``ent_x``:

- ``ent_gap`` 1-127: a pair whose block id is the term's previous one plus this gap
  (the first pair of a term counts from -1); ``ent_code`` is its bound code and
  ``ent_x`` its posting count minus 1; its postings are the next ones of the
  compact ``post_doc`` / ``post_w`` streams.
- ``ent_gap`` with bit 7 set: a one-posting pair kept inside its entry (8-bit weights,
  blocks of at most 64 documents). Bits 0-5 are the gap, ``ent_x`` bits 0-5 the
  position in the block, and bit 6 of ``ent_gap`` with bits 6-7 of ``ent_x`` the
  3-bit ``r`` of its weight code ``255 - r``. Why it fits: a pair's bound level is the
  smallest at or above its largest weight and levels are 2.8% apart, so a
  one-posting pair's code relative to its own bound is 248-255 (a pair whose code
  is lower is stored as an ordinary pair). 81% of pairs hold one posting on the
  synthetic collections measured (docs/BENCHMARKS.md, "Format 4 on paper").
- ``ent_gap`` 0: a jump, adding ``ent_code | ent_x << 8`` to the block id; the next
  entry's own gap adds the rest (a gap too wide for 6 or 7 bits costs one entry).

Why by hand: this is the index format itself; no library codes (term, block) pairs.
``unpack`` checks every count and cursor and holds the entries to a block
segment's invariants (``check.py``) in one pass, so a crafted file cannot crash.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from laconic.index.kernels import check as KCHK
from laconic.index.kernels.check import bound_holds, check_postings
from laconic.index.kernels.pairs import pair_start, set_pair_start

SINGLE = 0x80  # ent_gap bit 7: a one-posting pair kept inside its entry
SINGLE_GAP = 63  # widest gap a one-posting entry holds (6 bits)
PAIR_GAP = 127  # widest gap an ordinary entry holds (7 bits)
SINGLE_MIN_CODE = 248  # 255 - 7: the lowest weight code a one-posting entry holds
MAX_INLINE_BLOCK = 64  # positions of one-posting entries are 6 bits

# codes returned by unpack (0 = valid); messages live in laconic.index.compact
OK = 0
ENTRIES_SHORT, ENTRIES_LEFT = 1, 2
POSTINGS_SHORT, POSTINGS_LEFT = 3, 4
BLOCK_RANGE, SINGLE_BAD, TERM_PTR_ORDER = 5, 6, 7
BLOCK_ORDER, SINGLE_RANGE, BOUND_LOW = 8, 9, 10
DOC_RANGE, DOC_ORDER, WEIGHT_BAD = 11, 12, 13
POSTING_CODES = np.zeros(16, np.int64)  # check.check_postings's codes -> these
POSTING_CODES[KCHK.DOC_RANGE] = DOC_RANGE
POSTING_CODES[KCHK.DOC_ORDER] = DOC_ORDER
POSTING_CODES[KCHK.WEIGHT_BAD] = WEIGHT_BAD


@nb.njit(cache=True, nogil=True)
def pack_pass(term_ptr, term_blocks, term_max, pair_off, pair_base, post_doc, post_w, inline, ent_gap, ent_code,
              ent_x, out_doc, out_w, write):
    """Encode a block segment's pairs; returns ``(entries, compact postings)``.

    With ``write`` false only counts (the output arrays may be empty); with it
    true fills them, which must have the counted lengths. ``inline``: one-posting
    pairs with codes 248-255 go inside their entry (8-bit weights, blocks <= 64),
    except where their gap is 64-127, which an ordinary entry holds more cheaply.
    """
    e = 0
    z = 0
    for t in range(term_ptr.size - 1):
        prev = np.int64(-1)
        for q in range(term_ptr[t], term_ptr[t + 1]):
            lo = pair_start(pair_off, pair_base, q)
            hi = pair_start(pair_off, pair_base, q + 1)
            gap = np.int64(term_blocks[q]) - prev
            prev = np.int64(term_blocks[q])
            # a gap of 64-127 costs a one-posting entry a jump (6 bytes), an ordinary entry 5
            one = (inline and hi - lo == 1 and np.int64(post_w[lo]) >= SINGLE_MIN_CODE
                   and not SINGLE_GAP < gap <= PAIR_GAP)
            widest = SINGLE_GAP if one else PAIR_GAP
            if gap > widest:  # a jump carries gap - 1; the entry then adds 1
                if write:
                    ent_gap[e] = 0
                    ent_code[e] = (gap - 1) & 0xFF
                    ent_x[e] = (gap - 1) >> 8
                e += 1
                gap = 1
            if write:
                ent_code[e] = term_max[q]
                if one:
                    r = 255 - np.int64(post_w[lo])
                    ent_gap[e] = SINGLE | ((r >> 2) << 6) | gap
                    ent_x[e] = ((r & 3) << 6) | np.int64(post_doc[lo])
                else:
                    ent_gap[e] = gap
                    ent_x[e] = hi - lo - 1
                    for p in range(lo, hi):
                        out_doc[z + p - lo] = post_doc[p]
                        out_w[z + p - lo] = post_w[p]
            if not one:
                z += hi - lo
            e += 1
    return e, z


@nb.njit(cache=True, nogil=True, inline="always")
def _anchor(e, skip, prev, z, z0, anc_block, anc_post) -> None:
    """Entry ``e`` opens a skip anchor: note the term's running block id (+1) and postings so far."""
    if e % skip == 0:
        anc_block[e // skip] = prev + 1
        anc_post[e // skip] = z - z0


@nb.njit(cache=True, nogil=True)
def unpack(term_ptr, ent_gap, ent_code, ent_x, in_doc, in_w, inline, float_weights, n_docs, block_size, levels, units,
           write, term_blocks, term_max, pair_off, pair_base, post_doc, post_w, term_ent, term_post, skip, anc_block,
           anc_post):
    """Check a compact segment's entries and postings, decoding them when ``write``; returns ``(code, index)``.

    ``(0, -1)``: valid. Every read is checked against its stream's end, so any
    bytes decode or fail here, and the pairs and postings are held to the block
    layout's invariants (``check.py``: block ids increasing and in range,
    positions increasing and in their block, float weights finite, every weight
    within its pair's bound), so opening a compact segment needs no decoded copy.
    With ``write`` the block layout's arrays are filled (they must have its
    lengths: ``term_ptr[-1]`` pairs, ``in_doc.size`` plus the one-posting
    entries postings); without, they may be empty. Always fills what searching
    the entries in place needs (``compact_search.py``): each term's first entry
    and first posting (``V + 1`` each) and a skip anchor every ``skip`` entries
    (``ent_gap.size // skip + 1`` each). ``levels``/``units`` must be checked finite.
    """
    n_ent = ent_gap.size
    n_in = in_doc.size
    n_blocks = (n_docs + block_size - 1) // block_size
    last_fill = n_docs - (n_blocks - 1) * block_size  # positions used in the last block
    e = 0
    z = 0
    out = 0
    q = 0
    for t in range(term_ptr.size - 1):
        if term_ptr[t + 1] < term_ptr[t]:
            return TERM_PTR_ORDER, t + 1
        prev = np.int64(-1)
        term_ent[t] = e
        term_post[t] = z
        for _ in range(term_ptr[t + 1] - term_ptr[t]):
            while e < n_ent and ent_gap[e] == 0:  # jumps
                _anchor(e, skip, prev, z, term_post[t], anc_block, anc_post)
                prev += np.int64(ent_code[e]) | (np.int64(ent_x[e]) << 8)
                e += 1
            if e >= n_ent:
                return ENTRIES_SHORT, t
            _anchor(e, skip, prev, z, term_post[t], anc_block, anc_post)
            g = np.int64(ent_gap[e])
            x = np.int64(ent_x[e])
            c = ent_code[e]
            if g & SINGLE:
                if not inline:
                    return SINGLE_BAD, e
                if (g & SINGLE_GAP) == 0:
                    return BLOCK_ORDER, e
                prev += g & SINGLE_GAP
            else:
                prev += g
            if prev < 0 or prev >= n_blocks:
                return BLOCK_RANGE, e
            limit = last_fill if prev == n_blocks - 1 else block_size
            if g & SINGLE:
                code = 255 - ((((g >> 6) & 1) << 2) | (x >> 6))
                if (x & 63) >= limit:
                    return SINGLE_RANGE, e
                if not bound_holds(float(code), c, levels, units):
                    return BOUND_LOW, e
                if write:
                    post_doc[out] = x & 63
                    post_w[out] = code
                n = 1
            else:
                if z + x + 1 > n_in:
                    return POSTINGS_SHORT, e
                bad, at, best = check_postings(in_doc, in_w, z, z + x + 1, limit, float_weights)
                if bad:
                    return POSTING_CODES[bad], at
                if not bound_holds(best, c, levels, units):
                    return BOUND_LOW, e
                if write:
                    for p in range(x + 1):
                        post_doc[out + p] = in_doc[z + p]
                        post_w[out + p] = in_w[z + p]
                z += x + 1
                n = x + 1
            if write:
                set_pair_start(pair_off, pair_base, q, out)
                term_blocks[q] = prev
                term_max[q] = c
            out += n
            q += 1
            e += 1
    term_ent[term_ptr.size - 1] = e
    term_post[term_ptr.size - 1] = z
    if e != n_ent:
        return ENTRIES_LEFT, e
    if z != n_in:
        return POSTINGS_LEFT, z
    if write:
        set_pair_start(pair_off, pair_base, q, out)
    return OK, -1
