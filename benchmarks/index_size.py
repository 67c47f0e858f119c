"""Index size per document, array by array: where the bytes of a laconic index go.

Builds the default 8-bit index over a synthetic workload (``benchmarks/synthetic.py``)
once per document order and prints bytes per document for every array of the
format (docs/index-format.md), plus pairs per posting. Sizes are deterministic,
so this needs no quiet machine; build times are printed for reference only.

    python benchmarks/index_size.py --workload easy --docs 1000000 --reorder seeds,bp
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from synthetic import WORKLOADS, load_or_generate

from laconic.index import BuildConfig, SparseIndex


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="easy")
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--reorder", default="seeds", help="comma list of BuildConfig.reorder values")
    ap.add_argument("--data-dir", default="bench_data", help="cache of synthetic data")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    docs, _ = load_or_generate(Path(args.data_dir), args.docs, 10, cfg=WORKLOADS[args.workload], show_progress=True)
    n = len(docs)
    print(f"{args.workload}: {n:,} documents, {docs.nnz / n:.1f} postings each")
    for reorder in args.reorder.split(","):
        t0 = time.perf_counter()
        index = SparseIndex.build(docs, config=BuildConfig(reorder=reorder), workers=args.threads, show_progress=False)
        seconds = time.perf_counter() - t0
        stats = index.stats()
        parts = ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(stats["bytes"].items(), key=lambda kv: -kv[1]))
        print(f"  reorder={reorder}: {stats['bytes_per_doc']:,.0f} bytes/doc (build {seconds:.1f} s, "
              f"{stats['term_block_pairs'] / max(stats['postings'], 1):.3f} pairs per posting); per array: {parts}",
              flush=True)
        del index


if __name__ == "__main__":
    main()
