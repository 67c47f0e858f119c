"""What a second, coarser level of block bounds would save exact search: counts, no timings.

Exact search reads every (term, block) pair of the query's terms twice: once to bound every
block (``accumulate_bounds``) and once to file the pairs of the blocks that can still qualify
(``fill_lists``). On LACONIC-shaped queries (~290 terms) that is ~1.6M pairs per query at 1M
documents, while only ~1% of the blocks are ever scored. A superblock level (one bound per term
per ``S`` consecutive blocks, the largest of its block bounds) would let both passes skip the
block pairs of superblocks whose bound cannot beat the k-th score. Whether that pays depends on
how many superblocks survive, which this script counts exactly on a built index:

- ``sb pairs``: (term, superblock) pairs of the query terms, what the coarse pass reads;
- ``sb kept``: superblocks whose bound reaches the k-th score ``theta``;
- ``block pairs read``: block pairs inside the kept superblocks (the fine pass and the filing scan);
- ``read / one level``: (sb pairs + block pairs read) against all the query's block pairs.

Two thresholds: ``theta`` final (the exact k-th score: the least any exact method must read)
and ``theta`` warm (the k-th score among the documents of the ``--warm-blocks`` blocks with the
highest block bounds, which is what exact search prunes with today once it has scored them).
Medians over the queries. Scores use the float document vectors; bounds use the index's codes.

    python benchmarks/superblock_bounds.py --workload laconic --docs 1000000 --queries 100 --reorder bp
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


def query_pairs(seg, terms: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query term rank, block id, weight x bound) of every pair of the query's terms in ``seg``."""
    a = seg.arrays
    term_ptr = np.asarray(a["term_ptr"])
    levels = np.asarray(a["levels"]).astype(np.float64)
    ranks, blocks, bounds = [], [], []
    for r, (t, w) in enumerate(zip(terms, weights)):
        lo, hi = term_ptr[t], term_ptr[t + 1]
        if hi > lo and w > 0:
            ranks.append(np.full(hi - lo, r, np.int64))
            blocks.append(np.asarray(a["term_blocks"][lo:hi]).astype(np.int64))
            bounds.append(w * levels[np.asarray(a["term_max"][lo:hi])])
    if not ranks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(ranks), np.concatenate(blocks), np.concatenate(bounds)


def superblock_counts(ranks, blocks, bounds, n_blocks: int, size: int, theta: float) -> tuple[int, int, int]:
    """(sb pairs, sb kept, block pairs inside kept superblocks) for superblocks of ``size`` blocks."""
    sb = blocks // size
    key = ranks * (n_blocks // size + 1) + sb  # pairs are grouped by term, blocks increase within one
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    run_max = np.maximum.reduceat(bounds, starts)
    sub = np.bincount(sb[starts], weights=run_max, minlength=n_blocks // size + 1)
    kept = sub >= theta
    return len(starts), int(kept.sum()), int(kept[sb].sum())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="laconic")
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--query-cache", type=int, default=1000, help="queries in the cached query file (a prefix is used)")
    ap.add_argument("--reorder", default="bp")
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--warm-blocks", type=int, default=4)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--data-dir", default="bench_data", help="cache of synthetic data")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    docs, queries = load_or_generate(Path(args.data_dir), args.docs, max(args.queries, args.query_cache),
                                     cfg=WORKLOADS[args.workload], show_progress=True)
    queries = queries[: args.queries]
    t0 = time.perf_counter()
    index = SparseIndex.build(docs, config=BuildConfig(reorder=args.reorder), workers=args.threads, show_progress=False)
    print(f"{args.workload}: {len(docs):,} documents, {len(queries)} queries, reorder={args.reorder}, "
          f"built in {time.perf_counter() - t0:.0f} s", flush=True)
    (seg,) = index._snap.segments  # one segment: 1M documents at block 64 fit in one
    n_blocks = -(-seg.n_docs // seg.block_size)
    doc_order = np.asarray(seg.arrays["doc_order"])
    docs_csr = docs.to_scipy().tocsr()
    exact = index.search(queries, k=args.k, mode="exact", threads=args.threads)

    rows: dict[str, list[tuple]] = {"final": [], "warm": []}
    one_level, kept_blocks = [], {"final": [], "warm": []}
    for qi in range(len(queries)):
        q = queries[qi]
        if len(exact.scores[qi]) < args.k:
            continue
        ranks, blocks, bounds = query_pairs(seg, q.indices, q.values)
        ub = np.bincount(blocks, weights=bounds, minlength=n_blocks)
        top = np.argsort(-ub, kind="stable")[: args.warm_blocks]
        pos = (top[:, None] * seg.block_size + np.arange(seg.block_size)).ravel()
        pos = pos[pos < seg.n_docs]
        warm_scores = np.sort(docs_csr[doc_order[pos]] @ q.to_scipy().T.toarray().ravel())[::-1]
        thetas = {"final": float(exact.scores[qi][-1]), "warm": float(warm_scores[args.k - 1])}
        one_level.append(len(blocks))
        for name, theta in thetas.items():
            kept_blocks[name].append(int((ub >= theta).sum()))
            rows[name].append(tuple(superblock_counts(ranks, blocks, bounds, n_blocks, s, theta) for s in args.sizes))

    n = len(one_level)
    med = float(np.median(one_level))
    print(f"{n} queries with {args.k} hits; {n_blocks:,} blocks; query block pairs (one level) median {med:,.0f}")
    for name in ("final", "warm"):
        print(f"\ntheta {name}: blocks kept (bound >= theta) median {np.median(kept_blocks[name]):.0f}")
        print("| superblock size | sb pairs | sb kept | block pairs read | read / one level |")
        print("|---:|---:|---:|---:|---:|")
        r = np.array(rows[name], dtype=np.float64)  # (queries, sizes, 3)
        for z, s in enumerate(args.sizes):
            read = (r[:, z, 0] + r[:, z, 2]) / np.array(one_level)
            print(f"| {s} | {np.median(r[:, z, 0]):,.0f} | {np.median(r[:, z, 1]):,.0f} of {n_blocks // s + 1:,} | "
                  f"{np.median(r[:, z, 2]):,.0f} | {np.median(read):.3f} |")


if __name__ == "__main__":
    main()
