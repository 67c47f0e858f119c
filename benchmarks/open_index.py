"""What checking an index on open costs: open time with checksums + invariants, invariants only, and none.

Builds (or reuses) an index of the easy synthetic collection, saves it, and
opens it repeatedly (page cache warm after the first open), reporting medians:

- ``full``: the default open (CRC-32 of every file over the map, plus the
  structural invariants in one numba pass);
- ``invariants``: ``checksums=False`` (for indexes far larger than RAM);
- ``mmap only``: what version 1 did by default (header, sizes, ``np.load`` maps),
  measured by mapping every array file, as a floor.

Example:
    python benchmarks/open_index.py --docs 1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import load_or_generate  # noqa: E402

from laconic.index import BuildConfig, SparseIndex  # noqa: E402


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data-dir", default="bench_data")
    args = ap.parse_args()
    path = Path(args.data_dir) / f"open-bench-{args.docs}"
    if not (path / "header.json").is_file():
        docs, _ = load_or_generate(args.data_dir, args.docs, 10)
        SparseIndex.build(docs, config=BuildConfig(), show_progress=False).save(path)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    header = json.loads((path / "header.json").read_text())
    arrays = list(header["files"])
    SparseIndex.open(path, warm_up=False)  # compiles the check kernel (numba cache), warms the page cache

    def mmap_only() -> None:
        for rel in arrays:
            np.load(path / rel, mmap_mode="c", allow_pickle=False)

    rows = {
        "full (default)": timed(lambda: SparseIndex.open(path, warm_up=False), args.repeats),
        "invariants (checksums=False)": timed(lambda: SparseIndex.open(path, warm_up=False, checksums=False), args.repeats),
        "mmap only (v1 default, floor)": timed(mmap_only, args.repeats),
    }
    print(f"# open time, {args.docs:,} documents, {size / 1e6:,.0f} MB on disk, {len(arrays)} files")
    print(f"machine: {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}, warm page cache, "
          f"median of {args.repeats}")
    print("| check | median s | max s | GB/s |")
    print("|---|---|---|---|")
    for name, times in rows.items():
        med = float(np.median(times))
        print(f"| {name} | {med:.3f} | {max(times):.3f} | {size / 1e9 / med:.1f} |")


if __name__ == "__main__":
    main()
