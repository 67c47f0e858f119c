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

"fixed" is what every layout keeps as is: term pointers, chunk anchors, doc_order (int64 now),
ids, tombstones, tables.

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


def gamma_bits(x: np.ndarray) -> int:
    """Total Elias-gamma length of positive integers ``x``."""
    return int((2 * np.floor(np.log2(x.astype(np.float64))) + 1).sum())


def segment_counts(seg, block_size: int) -> dict[str, int]:
    """Sizes in bits or bytes of each candidate layout's variable part for one segment."""
    a = {k: np.asarray(v) for k, v in seg.arrays.items()}
    term_ptr, blocks = a["term_ptr"], a["term_blocks"].astype(np.int64)
    n_pairs, n_post = len(blocks), len(a["post_doc"])
    anchors = a["pair_base"][np.arange(n_pairs + 1) >> 8]
    starts = anchors + ((a["pair_off"].astype(np.int64) - anchors) & 0xFFFF)  # docs/index-format.md
    counts = np.diff(starts)
    first_pairs = term_ptr[:-1][np.diff(term_ptr) > 0]  # each non-empty term's first pair
    first = np.zeros(n_pairs, bool)
    first[first_pairs] = True
    gaps = np.diff(blocks, prepend=0)
    gaps[first] = blocks[first] + 1  # a term's first block, coded from -1

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
    return {
        "pairs": n_pairs, "postings": n_post, "singletons": int((counts == 1).sum()),
        "gap_u8_bytes": n_pairs + 2 * int((gaps >= 255).sum()),
        "gap_gamma_bits": gamma_bits(gaps), "count_gamma_bits": gamma_bits(counts),
        "frames": len(frame_start), "frame_bits": int((widths * frame_len).sum()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="easy")
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--block-size", type=int, nargs="+", default=[64])
    ap.add_argument("--reorder", default="seeds")
    ap.add_argument("--data-dir", default="bench_data", help="cache of synthetic data")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    docs, _ = load_or_generate(Path(args.data_dir), args.docs, 10, cfg=WORKLOADS[args.workload], show_progress=True)
    n = len(docs)
    print(f"{args.workload}: {n:,} documents, {docs.nnz / n:.1f} postings each, reorder={args.reorder}")
    print("| block | pairs/doc | postings/pair | one-posting pairs | v3 | A byte pairs | C bit pairs | D C + short positions | E term-ordered | fixed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
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
        }
        cells = " | ".join(f"{(v + fixed) / n:,.0f}" for v in sizes.values())
        print(f"| {block_size} | {pairs / n:.1f} | {post / pairs:.2f} | {total['singletons'] / pairs:.1%} | {cells} | "
              f"{fixed / n:.1f} |  (build {build_s:.0f} s)", flush=True)
        del index


if __name__ == "__main__":
    main()
