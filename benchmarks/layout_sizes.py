"""Bytes per document of candidate index layouts, computed from a built format-3 index (issue 11: <= 450).

Measure before redesigning: this builds the default 8-bit index over a synthetic workload, then
counts what the same postings would cost in each candidate layout, without writing any of them.
Postings and pairs are read from the built segments, so every figure is exact for that
collection (no sampling). Sizes are deterministic; the build time is printed for reference only.

Layouts (pairs are (term, block) pairs, postings keep their 8-bit weight code):

- v3: the current format (docs/index-format.md): block id u16 + pointer u16 + bound u8 per pair,
  in-block position u8 + weight u8 per posting.
- A, byte-aligned pairs: block-id gap u8 (255 escapes to a further u16) + posting count u8 +
  bound u8; postings as v3. Pointers become running sums of counts.
- C, bit-level pairs: Elias-gamma block-id gaps and counts + bound u8; postings as v3.
- D: C with the in-block position in log2(block_size) bits.
- E, term-ordered postings (PISA-like, no doc-block pairs): per term, position gaps bit-packed
  in frames of 128 postings at the frame's widest gap, weight u8, and per frame a max u8, last
  position u32 and width u8.
- F, fused one-posting pairs, byte-aligned: every pair is 3 bytes, [gap 7 bits | one-posting
  flag][bound u8][x u8]. A one-posting pair keeps its posting in x (position in 6 bits, plus 2
  bits placing the weight inside its bound's level step, see ``--recall-queries``); a longer pair
  keeps its posting count in x and its postings (position u8 + weight u8) in a second stream. A
  gap >= 128 costs one more 3-byte entry (a jump, ``layout_f_passes.py``). Posting pointers are
  running sums from a per-term start (8 bytes per term), so F drops ``pair_base``. Gaps rule out
  a binary search over a term's block ids, so every 64 pairs of a term after its first 64 carry
  a 6-byte skip anchor (absolute block id u16 + the term's posting count so far u32): finding a
  block is then a binary search over the anchors and a scan of at most 64 entries.

"fixed" is what every layout keeps as is: term pointers, chunk anchors, doc_order (int64 now),
ids, tombstones, tables. "fixed -8" is the same with doc_order and ids_offsets as 32 bits.

``--recall-queries N`` also measures what F's 2-bit weights cost: recall@10 of brute force over
the dequantized weights of v3 and of F, against brute force over the float weights, on N queries;
``--heavy`` swaps the document weights for weight_codes.py's log-normal(-0.5, 0.8) draws first.

    python benchmarks/layout_sizes.py --workload easy --docs 1000000 --block-size 64 128
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import WORKLOADS, load_or_generate

from laconic.index import BuildConfig, SparseIndex

PAIR_ARRAYS = ("term_blocks", "term_max", "pair_off")
POSTING_ARRAYS = ("post_doc", "post_w")
FRAME = 128  # postings per frame in layout E (PISA's block size)
F_ANCHOR = 64  # pairs per skip anchor in layout F


def gamma_bits(x: np.ndarray) -> int:
    """Total Elias-gamma length of positive integers ``x``."""
    return int((2 * np.floor(np.log2(x.astype(np.float64))) + 1).sum())


def pair_starts(a: dict[str, np.ndarray]) -> np.ndarray:
    """Every pair's first posting (P + 1 values) from a segment's ``pair_off`` / ``pair_base``."""
    anchors = a["pair_base"][np.arange(len(a["term_blocks"]) + 1) >> 8]
    return anchors + ((a["pair_off"].astype(np.int64) - anchors) & 0xFFFF)  # docs/index-format.md


def block_gaps(a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(each non-empty term's first pair, every pair's block-id gap); a term's first gap is from -1."""
    term_ptr, blocks = a["term_ptr"], a["term_blocks"].astype(np.int64)
    first_pairs = term_ptr[:-1][np.diff(term_ptr) > 0]
    first = np.zeros(len(blocks), bool)
    first[first_pairs] = True
    gaps = np.diff(blocks, prepend=0)
    gaps[first] = blocks[first] + 1
    return first_pairs, gaps


def segment_counts(seg, block_size: int) -> dict[str, int]:
    """Sizes in bits or bytes of each candidate layout's variable part for one segment."""
    a = {k: np.asarray(v) for k, v in seg.arrays.items()}
    term_ptr, blocks = a["term_ptr"], a["term_blocks"].astype(np.int64)
    n_pairs, n_post = len(blocks), len(a["post_doc"])
    starts = pair_starts(a)
    counts = np.diff(starts)
    first_pairs, gaps = block_gaps(a)

    # layout E: positions of each term's postings, in segment order
    pos = np.repeat(blocks.astype(np.int32), counts) * block_size + a["post_doc"].astype(np.int32)
    term_start = np.zeros(n_post, bool)
    term_start[starts[first_pairs]] = True
    d = np.diff(pos, prepend=-1)
    d[term_start] = pos[term_start] + 1
    first_of_term = np.maximum.accumulate(np.where(term_start, np.arange(n_post), 0))
    frame_start = np.flatnonzero(term_start | ((np.arange(n_post) - first_of_term) % FRAME == 0))
    del pos, first_of_term
    widths = np.ceil(np.log2(np.maximum.reduceat(d, frame_start).astype(np.float64) + 1))
    frame_len = np.diff(np.r_[frame_start, n_post])
    per_term = np.diff(term_ptr)
    f_anchors = int(np.maximum(0, (per_term + F_ANCHOR - 1) // F_ANCHOR - 1).sum())
    f_bytes = (3 * (n_pairs + int((gaps >= 128).sum())) + 2 * int(counts[counts > 1].sum())
               + 8 * len(term_ptr) - a["pair_base"].nbytes + 6 * f_anchors)
    return {
        "pairs": n_pairs, "postings": n_post, "singletons": int((counts == 1).sum()), "f_bytes": f_bytes,
        "gap_u8_bytes": n_pairs + 2 * int((gaps >= 255).sum()),
        "gap_gamma_bits": gamma_bits(gaps), "count_gamma_bits": gamma_bits(counts),
        "frames": len(frame_start), "frame_bits": int((widths * frame_len).sum()),
    }


def single_steps(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bound code c, the lower end of its level interval (levels[c - 1], levels[c]] and a quarter
    of its width: layout F keeps a one-posting pair's weight as the middle of one of those quarters.
    For c = 1 the interval is one geometric step below levels[1] (lighter weights take its first quarter).
    """
    levels = levels.astype(np.float64)
    below_first = levels[1] * levels[1] / levels[2] if levels[2] > 0 else 0.0
    lo = np.r_[0.0, below_first, levels[1:-1]]
    return lo, (levels - lo) / 4


def single_step_of(w: np.ndarray, c: np.ndarray, lo: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The quarter (0-3) of its bound code's interval that each weight ``w`` falls in."""
    return np.clip(np.floor((w - lo[c]) / np.where(step[c] > 0, step[c], 1)), 0, 3).astype(np.int64)


def dequantized(seg, block_size: int, fused: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(global doc, term, weight) of every posting as v3 decodes it, or as layout F would.

    F keeps a one-posting pair's weight as the middle of one of 4 equal steps of its bound's level
    interval (``single_steps``); the input is the v3 code (within half a code of the float).
    """
    a = {k: np.asarray(v) for k, v in seg.arrays.items()}
    blocks, codes = a["term_blocks"].astype(np.int64), a["term_max"].astype(np.int64)
    counts = np.diff(pair_starts(a))
    terms = np.repeat(np.arange(len(a["term_ptr"]) - 1), np.diff(a["term_ptr"]))
    pos = np.repeat(blocks, counts) * block_size + a["post_doc"]
    c = np.repeat(codes, counts)
    w = a["post_w"].astype(np.float64) * a["units"][c]
    if fused:
        single = np.repeat(counts == 1, counts)
        lo, step = single_steps(a["levels"])
        w = np.where(single, lo[c] + step[c] * (single_step_of(w, c, lo, step) + 0.5), w)
    return a["doc_order"][pos], np.repeat(terms, counts), w.astype(np.float32)


def recall_of(index, docs, queries, k: int = 10) -> dict[str, float]:
    """Recall@k of brute force over v3's and F's dequantized weights against the float weights."""
    import scipy.sparse as sp
    from search import recall_at_k, true_scores
    from search_peers import BruteForce

    from laconic.sparse import SparseVectors

    def top(vectors: SparseVectors) -> np.ndarray:
        bf = BruteForce(queries, k)
        bf.build(vectors)
        return bf.search_batch(slice(0, len(queries)), 1)

    docs_csr, q_csr = docs.to_scipy().tocsr(), queries.to_scipy().tocsr()
    truth = top(docs)
    truth_scores = true_scores(docs_csr, q_csr, truth)
    out = {}
    for name, fused in (("v3", False), ("F", True)):
        parts = [dequantized(seg, seg.block_size, fused) for seg in index._snap.segments]
        rows, cols, vals = (np.concatenate(x) for x in zip(*parts))
        found = top(SparseVectors.from_scipy(sp.csr_matrix((vals, (rows, cols)), shape=docs_csr.shape)))
        out[name] = recall_at_k(found, truth, truth_scores, true_scores(docs_csr, q_csr, found))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="easy")
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--block-size", type=int, nargs="+", default=[64])
    ap.add_argument("--reorder", default="seeds")
    ap.add_argument("--data-dir", default="bench_data", help="cache of synthetic data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recall-queries", type=int, default=0, help="also measure F's weight precision (0: skip)")
    ap.add_argument("--heavy", action="store_true", help="replace the document weights by log-normal(-0.5, 0.8) draws")
    args = ap.parse_args(argv)

    docs, queries = load_or_generate(Path(args.data_dir), args.docs, max(10, args.recall_queries),
                                     cfg=WORKLOADS[args.workload], show_progress=True)
    if args.heavy:
        from weight_codes import heavy

        docs = heavy(docs)
    n = len(docs)
    print(f"{args.workload}{' (log-normal weights)' if args.heavy else ''}: {n:,} documents, "
          f"{docs.nnz / n:.1f} postings each, reorder={args.reorder}")
    print("| block | pairs/doc | postings/pair | one-posting pairs | v3 | A byte pairs | C bit pairs "
          "| D C + short positions | E term-ordered | F fused 3-byte pairs | fixed | fixed -8 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for block_size in args.block_size:
        t0 = time.perf_counter()
        config = BuildConfig(reorder=args.reorder, block_size=block_size)
        index = SparseIndex.build(docs, config=config, workers=args.threads, show_progress=False)
        build_s = time.perf_counter() - t0
        stats = index.stats()
        total = {}
        for seg in index._snap.segments:  # the built arrays themselves are what is measured
            for k, v in segment_counts(seg, block_size).items():
                total[k] = total.get(k, 0) + v
        pairs, post = total["pairs"], total["postings"]
        v3_var = sum(v for k, v in stats["bytes"].items() if k in PAIR_ARRAYS + POSTING_ARRAYS)
        fixed = stats["total_bytes"] - v3_var
        position_bits = np.log2(block_size)
        sizes = {
            "v3": v3_var,
            "A": total["gap_u8_bytes"] + 2 * pairs + 2 * post,
            "C": (total["gap_gamma_bits"] + total["count_gamma_bits"]) / 8 + pairs + 2 * post,
            "D": (total["gap_gamma_bits"] + total["count_gamma_bits"]) / 8 + pairs + (position_bits + 8) * post / 8,
            "E": total["frame_bits"] / 8 + post + 6 * total["frames"],
            "F": total["f_bytes"],
        }
        cells = " | ".join(f"{(v + fixed) / n:,.0f}" for v in sizes.values())
        print(f"| {block_size} | {pairs / n:.1f} | {post / pairs:.2f} | {total['singletons'] / pairs:.1%} | {cells} | "
              f"{fixed / n:.1f} | {fixed / n - 8:.1f} |  (build {build_s:.0f} s)", flush=True)
        if args.recall_queries:
            rec = recall_of(index, docs, queries[: args.recall_queries])
            print(f"recall@10 vs float brute force, block {block_size}, {args.recall_queries} queries: "
                  + ", ".join(f"{k} {v:.4f}" for k, v in rec.items()), flush=True)
        del index


if __name__ == "__main__":
    main()
