"""Index latency of two laconic checkouts on the same data: run once per checkout, compare the lines.

Builds a default index over the synthetic ``easy`` and ``laconic`` workloads
with the ``laconic`` package found under ``SRC/src`` and times single-thread
exact and approximate (alpha 0.9) queries, k=10, after a warm-up. Run it once
per checkout, one after the other, each in its own process (two versions of a
package cannot share one):

    git worktree add /tmp/old <commit>
    NUMBA_CACHE_DIR=/tmp/nb-old python benchmarks/ab_versions.py /tmp/old 200000
    python benchmarks/ab_versions.py . 200000
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    src = str(Path(sys.argv[1]).resolve())
    n = int(sys.argv[2])
    queries_timed = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    sys.path.insert(0, src + "/src")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    from synthetic import WORKLOADS, load_or_generate

    import laconic
    from laconic.index import SearchParams, SparseIndex

    if not laconic.__file__.startswith(src):
        raise SystemExit(f"imported {laconic.__file__}, not the checkout at {src}")
    name = Path(src).name
    for workload in ("easy", "laconic"):
        docs, queries = load_or_generate("bench_data", n, 500, cfg=WORKLOADS[workload], show_progress=False)
        t0 = time.perf_counter()
        index = SparseIndex.build(docs, show_progress=False)
        build = time.perf_counter() - t0
        for mode, params in (("exact", None), ("approximate", SearchParams(alpha=0.9))):
            for i in range(20):
                index.search(queries[i:i + 1], k=10, mode=mode, params=params, threads=1)
            times = []
            for i in range(queries_timed):
                t = time.perf_counter()
                index.search(queries[i:i + 1], k=10, mode=mode, params=params, threads=1)
                times.append(time.perf_counter() - t)
            ms = np.array(times) * 1e3
            print(f"{name:5s} {workload:8s} {mode:12s} p50 {np.median(ms):7.3f} mean {ms.mean():7.3f} "
                  f"p99 {np.quantile(ms, 0.99):7.3f}  build {build:.1f}s bytes/doc {index.stats()['bytes_per_doc']:.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
