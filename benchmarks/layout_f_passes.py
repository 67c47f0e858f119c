"""Probe: exact search's three phases over layout F against format 3, on the same queries.

Layout F (docs/BENCHMARKS.md, "Format 4 on paper"; ``layout_sizes.py``) gap-codes block ids and
keeps one-posting pairs' postings inside the pair. Its size is counted there; what it would cost
the kernels is what this probe looks at, before anyone writes format 4. It converts a built
format-3 segment to F's streams in RAM and times, per query:

- the bounds pass: ``accumulate_bounds`` (format 3) against ``bounds_f`` (running block id,
  jump entries with bound code 0 so the pass needs no branch);
- filing: ``fill_lists`` (format 3: a scan that notes kept pairs, then a loop decoding their
  pointers and codes, grouped by block) against ``fill_f`` + ``group_f`` (one scan that keeps a
  running posting pointer and files a one-posting pair's posting and weight straight from the
  pair, then the same grouping);
- scoring the kept blocks: ``score_listed_block`` against ``score_f`` (a one-posting pair adds
  its weight without reading any posting array).

Checks on every query: the bounds are equal bit for bit (same terms, order and levels) and both
layouts file the same number of pairs in every block; the top-k of the scored blocks is compared
(F's 2-bit weights can reorder near-ties). Kept blocks are the ``--kept`` best-bounded ones,
about what exact search files on this shape. Caches are flushed before every call; the layouts
alternate which goes first. These are timings of kernels with no peer in the run: they guide
the format's design and are not search-speed figures.

    python benchmarks/layout_f_passes.py --workload laconic --docs 1000000 --queries 100
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba as nb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layout_sizes import block_gaps, pair_starts, single_step_of, single_steps
from synthetic import WORKLOADS, load_or_generate

from laconic.index import BuildConfig, SparseIndex
from laconic.index.kernels.blocks import (
    NEXT_TERM_LINES,
    PREFETCH_AHEAD,
    accumulate_bounds,
    fill_lists,
    offer_block,
    present_terms,
    query_terms,
    score_listed_block,
)
from laconic.index.kernels.prefetch import prefetch

JUMP = 128  # a gap of at least this costs a jump entry (7 bits hold smaller gaps)


def to_f(seg) -> dict[str, np.ndarray]:
    """Layout F's streams for one format-3 segment (numpy, whole segment at once)."""
    a = {k: np.asarray(v) for k, v in seg.arrays.items()}
    term_ptr = a["term_ptr"]
    n_pairs = a["term_blocks"].size
    starts = pair_starts(a)
    counts = np.diff(starts)
    _, gaps = block_gaps(a)
    jump = gaps >= JUMP
    slot = np.arange(n_pairs) + np.cumsum(jump)  # each pair's entry, after the jumps before it
    n_entries = n_pairs + int(jump.sum())
    g = np.zeros(n_entries, np.uint8)
    code = np.zeros(n_entries, np.uint8)
    x = np.zeros(n_entries, np.uint8)
    single = counts == 1
    # A jump entry adds gap - 1 (16 bits: low byte in g, high byte in x) and its pair then adds 1, so
    # every pair's own gap is at least 1: a chunk's block ids always lie in (prev, prev + gap sum].
    g[slot[jump] - 1] = (gaps[jump] - 1) & 0xFF
    x[slot[jump] - 1] = (gaps[jump] - 1) >> 8
    g[slot] = np.where(jump, 1, gaps) | (single.astype(np.int64) << 7)
    code[slot] = a["term_max"]
    post_doc, post_w = a["post_doc"], a["post_w"]
    # a one-posting pair: position in 6 bits, and 2 bits placing its weight in one of 4 steps of its
    # bound's level interval (layout_sizes.dequantized; the input is the format-3 code)
    lo, step = single_steps(a["levels"])
    c1 = a["term_max"][single].astype(np.int64)
    w1 = post_w[starts[:-1][single]].astype(np.float64) * a["units"][c1]
    x[slot[single]] = post_doc[starts[:-1][single]] | (single_step_of(w1, c1, lo, step) << 6)
    single_table = (lo[:, None] + step[:, None] * (np.arange(4)[None, :] + 0.5)).astype(np.float32)
    x[slot[~single]] = counts[~single]
    multi_posting = np.repeat(~single, counts)
    entry_start = np.r_[slot - jump, n_entries]  # a pair's jump entry, if any, comes first
    before = np.r_[0, np.cumsum(np.where(single, 0, counts))]
    return {
        "g": g, "code": code, "x": x,
        "term_entries": entry_start[term_ptr].astype(np.int64),  # term t's entries: [te[t], te[t + 1])
        "term_post": before[term_ptr].astype(np.int64),  # postings of longer pairs before term t's
        "single_table": single_table,  # (256, 4): a one-posting pair's weight by bound code and step
        "post_doc": np.ascontiguousarray(post_doc[multi_posting]),
        "post_w": np.ascontiguousarray(post_w[multi_posting]),
    }


@nb.njit(cache=True, nogil=True, inline="always")
def _step(prev, gj, c, xj):
    """Next block id: a pair adds its 7-bit gap, a jump entry (code 0) its 16-bit value; no branch."""
    isj = np.int64(c == 0)
    return prev + (np.int64(gj) & (127 | (isj << 7))) + ((np.int64(xj) << 8) & -isj)


@nb.njit(cache=True, nogil=True, inline="always")
def _next_term(lo, hi, i, g, code, x, with_x):
    """Ask for the next term's first lines of each stream, as format 3's bounds pass does."""
    if i + 1 < lo.size:
        nxt = lo[i + 1]
        for z in range(NEXT_TERM_LINES):
            if nxt + 64 * z < hi[i + 1]:
                prefetch(g, nxt + 64 * z)
                prefetch(code, nxt + 64 * z)
                if with_x:
                    prefetch(x, nxt + 64 * z)


@nb.njit(cache=True, nogil=True)
def bounds_f(lo, hi, w, g, code, x, levels, ub) -> float:
    """``accumulate_bounds`` over F's entries: same terms, order and sums; jump entries add 0.

    Like format 3's pass it reads 8 entries per 8-byte load of gaps and of codes; a chunk with a
    jump entry (a zero code byte) takes the scalar path. Block ids index ``ub`` as unsigned
    integers: numba checks a signed index for a negative value on every access (Python's
    wrap-around), while format 3's ids come unsigned out of their u16 array; in a side harness that
    check was most of this pass's extra cost (docs/BENCHMARKS.md, "Format 4 on paper").
    """
    g64 = g[: g.size - g.size % 8].view(np.uint64)
    c64 = code[: code.size - code.size % 8].view(np.uint64)
    ones = np.uint64(0x0101010101010101)
    highs = np.uint64(0x8080808080808080)
    low7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    byte = np.uint64(0xFF)
    for i in range(lo.size):
        wi = w[i]
        _next_term(lo, hi, i, g, code, x, False)
        prev = np.int64(-1)
        j = lo[i]
        h = hi[i]
        while j < h and (j & 7) != 0:
            prev = _step(prev, g[j], code[j], x[j])
            ub[np.uint64(prev)] += wi * levels[code[j]]
            j += 1
        while j + 8 <= h:
            cc = c64[j >> 3]
            if ((cc - ones) & ~cc & highs) != 0:  # a zero byte: a jump entry in this chunk
                for z in range(j, j + 8):
                    prev = _step(prev, g[z], code[z], x[z])
                    ub[np.uint64(prev)] += wi * levels[code[z]]
            else:
                gg = g64[j >> 3] & low7
                b = np.uint64(prev)  # -1 wraps, and the first gap (>= 1) wraps it back
                b += gg & byte
                ub[b] += wi * levels[cc & byte]
                b += (gg >> np.uint64(8)) & byte
                ub[b] += wi * levels[(cc >> np.uint64(8)) & byte]
                b += (gg >> np.uint64(16)) & byte
                ub[b] += wi * levels[(cc >> np.uint64(16)) & byte]
                b += (gg >> np.uint64(24)) & byte
                ub[b] += wi * levels[(cc >> np.uint64(24)) & byte]
                b += (gg >> np.uint64(32)) & byte
                ub[b] += wi * levels[(cc >> np.uint64(32)) & byte]
                b += (gg >> np.uint64(40)) & byte
                ub[b] += wi * levels[(cc >> np.uint64(40)) & byte]
                b += (gg >> np.uint64(48)) & byte
                ub[b] += wi * levels[(cc >> np.uint64(48)) & byte]
                b += gg >> np.uint64(56)
                ub[b] += wi * levels[cc >> np.uint64(56)]
                prev = np.int64(b)
            j += 8
        while j < h:
            prev = _step(prev, g[j], code[j], x[j])
            ub[np.uint64(prev)] += wi * levels[code[j]]
            j += 1
    best = 0.0
    for b in range(ub.size):
        if ub[b] > best:
            best = ub[b]
    return best


@nb.njit(cache=True, nogil=True, inline="always")
def _hsum(v):
    """Sum of the 8 bytes of ``v`` (each at most 255; the sum fits 16 bits)."""
    lanes = np.uint64(0x00FF00FF00FF00FF)
    v16 = (v & lanes) + ((v >> np.uint64(8)) & lanes)
    return np.int64((v16 * np.uint64(0x0001000100010001)) >> np.uint64(48))


@nb.njit(cache=True, nogil=True)
def fill_f(lo, hi, w, term_post, g, code, x, units, single_table, keep, out_block, out_pos, out_span, out_w):
    """F's filing scan: kept pairs as (block, position or -count, posting start or -1, weight) in scan order.

    One pass: the running block id and posting pointer come from the entries themselves, a kept
    one-posting pair's posting is its ``x`` (``out_w``: query weight x its weight), and a kept longer
    pair's postings start at the running pointer (``out_w``: query weight x unit; ``out_pos`` holds
    minus its count).
    Like format 3's scan it skips 8 entries at once when no kept block lies in the ids they span
    (a prefix count of kept blocks answers that), using the chunk's gap sum and its longer pairs'
    count sum from three 8-byte loads. Returns the number filed.
    """
    n_blocks = keep.size
    n_kept_below = np.empty(n_blocks + 1, np.int32)
    n_kept_below[0] = 0
    for b in range(n_blocks):
        n_kept_below[b + 1] = n_kept_below[b] + keep[b]
    g64 = g[: g.size - g.size % 8].view(np.uint64)
    c64 = code[: code.size - code.size % 8].view(np.uint64)
    x64 = x[: x.size - x.size % 8].view(np.uint64)
    ones = np.uint64(0x0101010101010101)
    highs = np.uint64(0x8080808080808080)
    low7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    n = 0
    for i in range(lo.size):
        _next_term(lo, hi, i, g, code, x, True)
        prev = np.int64(-1)
        ptr = term_post[i]
        j = lo[i]
        h = hi[i]
        while j < h:
            if (j & 7) == 0 and j + 8 <= h:
                cc = c64[j >> 3]
                if ((cc - ones) & ~cc & highs) == 0:  # no jump entry: the chunk's ids are (prev, prev + gap sum]
                    gg = g64[j >> 3]
                    last = prev + _hsum(gg & low7)
                    if n_kept_below[np.uint64(last + 1)] == n_kept_below[np.uint64(prev + 1)]:
                        multi = (((gg >> np.uint64(7)) & ones) ^ ones) * np.uint64(0xFF)
                        ptr += _hsum(x64[j >> 3] & multi)
                        prev = last
                        j += 8
                        continue
            c = code[j]
            gj = np.int64(g[j])
            if c == 0:  # a jump entry
                prev += gj + (np.int64(x[j]) << 8)
            else:
                prev += gj & 127
                one = (gj & 128) != 0
                if keep[np.uint64(prev)]:
                    out_block[n] = prev
                    if one:
                        out_pos[n] = x[j] & 63
                        out_span[n] = -1
                        out_w[n] = w[i] * single_table[c, x[j] >> 6]
                    else:
                        out_pos[n] = -np.int64(x[j])
                        out_span[n] = ptr
                        out_w[n] = w[i] * units[c]
                    n += 1
                if not one:
                    ptr += np.int64(x[j])
            j += 1
    return n


@nb.njit(cache=True, nogil=True)
def group_f(n, out_block, out_pos, out_span, out_w, n_blocks):
    """Filed entries grouped by block, scan order kept within a block (as ``fill_lists`` leaves them)."""
    starts = np.zeros(n_blocks + 1, np.int64)
    for e in range(n):
        starts[out_block[e] + 1] += 1
    for b in range(n_blocks):
        starts[b + 1] += starts[b]
    fill = starts[:n_blocks].copy()
    pos = np.empty(n, np.int64)
    span = np.empty(n, np.int64)
    wt = np.empty(n, np.float32)
    for e in range(n):
        b = out_block[e]
        z = fill[b]
        fill[b] = z + 1
        pos[z] = out_pos[e]
        span[z] = out_span[e]
        wt[z] = out_w[e]
    return starts, pos, span, wt


@nb.njit(cache=True, nogil=True)
def score_f(blocks, starts, pos, span, wt, post_doc, post_w, block_size, doc_order, deleted, acc, hs, ho, k) -> int:
    """Score the filed blocks in the given order: a one-posting pair adds its weight straight from
    its entry; a longer pair reads its postings (prefetched ahead, as ``score_listed_block`` does)."""
    size = 0
    for y in range(blocks.size):
        b = blocks[y]
        end = starts[b + 1]
        for z in range(starts[b], end):
            if z + PREFETCH_AHEAD < end and span[z + PREFETCH_AHEAD] >= 0:
                prefetch(post_doc, span[z + PREFETCH_AHEAD])
                prefetch(post_w, span[z + PREFETCH_AHEAD])
            if span[z] < 0:
                acc[pos[z]] += wt[z]
            else:
                wq = wt[z]
                for q in range(span[z], span[z] - pos[z]):
                    acc[post_doc[q]] += wq * post_w[q]
        size = offer_block(b, block_size, acc, doc_order, deleted, hs, ho, size, k, False)
    return size


@nb.njit(cache=True, nogil=True)
def score_v3(blocks, starts, spans, weights, seg, block_size, deleted, acc, hs, ho, k) -> int:
    """Format 3's scoring of the same blocks in the same order (``score_listed_block``)."""
    size = 0
    for y in range(blocks.size):
        size = score_listed_block(blocks[y], starts, spans, weights, seg, block_size, deleted, acc, hs, ho, size, k)
    return size


def run_phase(phase: str, lay: str, st: dict):
    """One phase of one layout for the query whose state is ``st``; returns what the next phase needs."""
    f, seg = st["f"], st["seg"]
    if phase == "bounds" and lay == "v3":
        st["ub"][:] = 0
        return accumulate_bounds(st["lo"], st["hi"], st["w"], seg.seg, st["ub"])
    if phase == "bounds":
        st["ub_f"][:] = 0
        return bounds_f(st["flo"], st["fhi"], st["w"], f["g"], f["code"], f["x"], st["levels"], st["ub_f"])
    if phase == "filing" and lay == "v3":
        return fill_lists(st["lo"], st["hi"], st["w"], seg.seg, st["keep"], st["cnt"])
    if phase == "filing":
        n = fill_f(st["flo"], st["fhi"], st["w"], st["fpost"], f["g"], f["code"], f["x"], st["units"],
                   f["single_table"], st["keep"], *st["out"])
        return group_f(n, *st["out"], st["keep"].size)
    hs, ho = st["heaps"][lay]
    if lay == "v3":
        return score_v3(st["kept"], *st["lists"]["v3"], seg.seg, seg.block_size, st["deleted"], st["acc"], hs, ho,
                        hs.size)
    return score_f(st["kept"], *st["lists"]["F"], f["post_doc"], f["post_w"], seg.block_size, st["doc_order"],
                   st["deleted"], st["acc"], hs, ho, hs.size)


def flush(buf: np.ndarray) -> None:
    buf += 1  # touch 64 MiB: evicts the last call's lists from every cache level


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="laconic")
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--query-cache", type=int, default=1000)
    ap.add_argument("--kept", type=int, default=150, help="best-bounded blocks filed per query")
    ap.add_argument("--block-size", type=int, default=64,
                    help="documents per block (at most 64: F keeps positions in 6 bits)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--data-dir", default="bench_data")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    docs, queries = load_or_generate(Path(args.data_dir), args.docs, max(args.queries, args.query_cache),
                                     cfg=WORKLOADS[args.workload], show_progress=True)
    if not 1 <= args.block_size <= 64:
        ap.error("--block-size must be 1-64: layout F keeps in-block positions in 6 bits")
    config = BuildConfig(reorder="bp", block_size=args.block_size)
    index = SparseIndex.build(docs, config=config, workers=args.threads, show_progress=False)
    del docs
    (seg,) = index._snap.segments
    f = to_f(seg)
    n_blocks = -(-seg.n_docs // seg.block_size)
    levels = np.asarray(seg.arrays["levels"])
    term_ptr = np.asarray(seg.arrays["term_ptr"])
    buf = np.zeros(8 << 20, np.int64)
    units = np.asarray(seg.arrays["units"])
    doc_order = np.asarray(seg.arrays["doc_order"])
    deleted = np.zeros(doc_order.size, np.bool_)
    acc = np.zeros(seg.block_size, np.float32)
    phases = ("bounds", "filing", "scoring")
    times = {(ph, lay): [] for ph in phases for lay in ("v3", "F")}
    ub, ub_f = np.zeros(n_blocks, np.float32), np.zeros(n_blocks, np.float32)
    cnt = np.zeros(n_blocks + 1, np.int64)
    keep = np.zeros(n_blocks, np.bool_)
    overlap = []
    for qi in range(-2, args.queries):  # two warm-up queries compile and are not timed
        q = queries[max(qi, 0)]
        lo, hi, w = query_terms(q.indices, q.values, term_ptr)
        present = q.indices[present_terms(q.indices, q.values, term_ptr)]
        flo, fhi = f["term_entries"][present], f["term_entries"][present + 1]
        fpost = f["term_post"][present]
        n_pairs = int((hi - lo).sum())
        out = (np.empty(n_pairs, np.int64), np.empty(n_pairs, np.int64), np.empty(n_pairs, np.int64),
               np.empty(n_pairs, np.float32))
        heaps = {lay: (np.zeros(args.k, np.float32), np.full(args.k, -1, np.int64)) for lay in ("v3", "F")}
        order = ("v3", "F") if qi % 2 == 0 else ("F", "v3")
        lists: dict = {}
        st = {"f": f, "seg": seg, "lo": lo, "hi": hi, "w": w, "flo": flo, "fhi": fhi, "fpost": fpost, "ub": ub,
              "ub_f": ub_f, "levels": levels, "units": units, "keep": keep, "cnt": cnt, "out": out, "heaps": heaps,
              "lists": lists, "deleted": deleted, "acc": acc, "doc_order": doc_order}
        for phase in phases:
            for lay in order:
                flush(buf)
                t0 = time.perf_counter()
                result = run_phase(phase, lay, st)
                if qi >= 0:
                    times[(phase, lay)].append(time.perf_counter() - t0)
                if phase == "filing":
                    lists[lay] = result
            if phase == "bounds":
                assert np.array_equal(ub, ub_f), "F's bounds differ from format 3's"
                st["kept"] = np.argsort(-ub, kind="stable")[: args.kept]
                keep[:] = False
                keep[st["kept"]] = True
            if phase == "filing":
                per_block_v3, per_block_f = np.diff(lists["v3"][0]), np.diff(lists["F"][0])
                assert np.array_equal(per_block_v3, per_block_f), "F filed different pairs per block"
                keep[:] = False
        # the same blocks scored: the top-k differ only where F's 2-bit weights reorder near-ties
        overlap.append(len(set(heaps["v3"][1].tolist()) & set(heaps["F"][1].tolist())) / args.k)
    print(f"{args.workload}: {seg.n_docs:,} documents, {args.queries} queries, {args.kept} kept blocks; "
          f"entries {f['g'].size:,} for {np.asarray(seg.arrays['term_blocks']).size:,} pairs; "
          f"top-{args.k} overlap F vs v3 over the scored blocks {np.mean(overlap):.4f}")
    print("| phase | v3 median ms | F median ms | F / v3 (median of per-query ratios) |")
    print("|---|---:|---:|---:|")
    for phase in phases + ("all three",):
        if phase == "all three":
            a = np.sum([times[(ph, "v3")] for ph in phases], axis=0)
            b = np.sum([times[(ph, "F")] for ph in phases], axis=0)
        else:
            a, b = np.array(times[(phase, "v3")]), np.array(times[(phase, "F")])
        print(f"| {phase} | {np.median(a) * 1e3:.3f} | {np.median(b) * 1e3:.3f} | {np.median(b / a):.2f} |")


if __name__ == "__main__":
    main()
