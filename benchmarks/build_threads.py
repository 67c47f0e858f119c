"""Index build time by thread count, on the synthetic workloads (issue 11: builds use every core).

Builds the same collection with ``workers`` = 1 and = every core, alternating
(``--rounds`` of each, after one warm-up build that compiles the kernels), and
prints the median wall time of each, the speed-up, and that the segment arrays
are byte-identical. Never asserts.

Example:
    python benchmarks/build_threads.py --docs 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_report import machine_info  # noqa: E402
from synthetic import WORKLOADS, load_or_generate  # noqa: E402

from laconic.index import SparseIndex  # noqa: E402


def arrays(index: SparseIndex) -> list[np.ndarray]:
    return [np.asarray(a) for seg in index._snap.segments for a in seg.arrays.values()]  # noqa: SLF001


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--workloads", nargs="+", default=["easy", "laconic"], choices=sorted(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data-dir", default="bench_data", help="cache of synthetic data")
    args = ap.parse_args(argv)
    every = numba.config.NUMBA_NUM_THREADS
    print(f"`python benchmarks/build_threads.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    print(machine_info() + "\n")
    print(f"| workload | documents | 1 thread s | {every} threads s | speed-up | identical |")
    print("|---|---:|---:|---:|---:|---|")
    for name in args.workloads:
        docs, _ = load_or_generate(args.data_dir, args.docs, 10, cfg=WORKLOADS[name], show_progress=False)
        SparseIndex.build(docs[:2000], show_progress=False)  # compile
        times: dict[int, list[float]] = {1: [], every: []}
        built: dict[int, SparseIndex] = {}
        for _ in range(args.rounds):
            for workers in times:
                t0 = time.perf_counter()
                built[workers] = SparseIndex.build(docs, show_progress=False, workers=workers)
                times[workers].append(time.perf_counter() - t0)
        same = all(np.array_equal(a, b) for a, b in zip(arrays(built[1]), arrays(built[every])))
        one, many = float(np.median(times[1])), float(np.median(times[every]))
        print(f"| {name} | {len(docs):,} | {one:.2f} | {many:.2f} | {one / many:.2f}x | {same} |", flush=True)


if __name__ == "__main__":
    main()
