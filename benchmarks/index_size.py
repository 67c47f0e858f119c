"""Index size per document, array by array: where the bytes of a laconic index go.

Builds the default 8-bit index over a synthetic workload (``benchmarks/synthetic.py``)
once per document order and prints bytes per document for every array of the
format (docs/index-format.md), plus pairs per posting. Sizes are deterministic,
so this needs no quiet machine; build times are printed for reference only.

``--storage blocks,compact`` also saves the index in each storage layout
(``BuildConfig.storage``) under ``--save-dir`` and prints its size on disk per
array and in memory once open, the time to save it, and the median time to
open it (checksums and invariant checks included; compact is checked entry by
entry, without a decoded copy) over ``--opens`` opens with the files in the page
cache, each layout's opens in the same run.

    python benchmarks/index_size.py --workload easy --docs 1000000 --reorder seeds,bp
    python benchmarks/index_size.py --workload easy --docs 1000000 --reorder bp --storage blocks,compact
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
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
    ap.add_argument("--storage", default="", help="comma list of BuildConfig.storage layouts to save and open")
    ap.add_argument("--save-dir", default=None, help="where to save them (default: a temporary directory)")
    ap.add_argument("--opens", type=int, default=5, help="timed opens per layout (after one untimed)")
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
        if args.storage:
            report_storage(index, n, args)
        del index


def report_storage(index: SparseIndex, n: int, args: argparse.Namespace) -> None:
    """Save ``index`` in each storage layout; print bytes per document on disk, save and open times."""
    root = Path(args.save_dir or tempfile.mkdtemp(prefix="laconic-size-"))
    layouts = args.storage.split(",")
    opened: dict[str, list[float]] = {}
    for storage in layouts:
        target = root / storage
        t0 = time.perf_counter()
        index.save(target, storage=storage)
        saved = time.perf_counter() - t0
        sizes: dict[str, int] = {}
        for f in target.rglob("*.npy"):
            sizes[f.stem] = sizes.get(f.stem, 0) + f.stat().st_size
        total = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
        parts = ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]))
        print(f"    storage={storage}: {total / n:,.1f} bytes/doc on disk (saved in {saved:.1f} s); per file: {parts}",
              flush=True)
        reopened = SparseIndex.open(target, warm_up=False)  # page cache and numba's compiled decoder, untimed
        print(f"    storage={storage}: {reopened.stats()['bytes_per_doc']:,.1f} bytes/doc in memory once open "
              f"(mapped files and what the open derives)", flush=True)
        del reopened
        opened[storage] = []
    for _ in range(args.opens):  # layouts alternate, so drift on a noisy machine hits both alike
        for storage in layouts:
            t0 = time.perf_counter()
            SparseIndex.open(root / storage, warm_up=False)
            opened[storage].append(time.perf_counter() - t0)
    for storage in layouts:
        print(f"    open {storage}: median {statistics.median(opened[storage]):.3f} s, "
              f"max {max(opened[storage]):.3f} s over {args.opens}")
    if args.save_dir is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
