"""How many candidates does a cut query need? Brute force, before any index is involved.

For each query: score every document with only the query's m heaviest terms,
keep the top C, rerank those by the full dot product, and compare that top-10
with the true top-10. This is the ceiling of ``SearchParams(query_cut=m,
candidates=C)`` (the index search adds block pruning and 8-bit weights on top).

Example (the table in docs/BENCHMARKS.md, "Long queries in two stages"):
    python benchmarks/cut_oracle.py --docs 200000 --queries 200 --workload laconic --data-dir bench_data
"""

from __future__ import annotations

import argparse

import numpy as np
from synthetic import WORKLOADS, load_or_generate


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=200, help="queries scored (the first ones of the cached set)")
    ap.add_argument("--query-set", type=int, default=500, help="size of the cached query set to read")
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="laconic")
    ap.add_argument("--data-dir", default="bench_data")
    ap.add_argument("--cuts", default="16,32,64,128")
    ap.add_argument("--candidates", default="10,100,1000")
    args = ap.parse_args(argv)
    docs, queries = load_or_generate(args.data_dir, args.docs, args.query_set, 0, cfg=WORKLOADS[args.workload])
    dt = docs.to_scipy().T.tocsr()  # term-major: a query reads only its terms' rows
    cuts = [int(c) for c in args.cuts.split(",")]
    sizes = [int(c) for c in args.candidates.split(",")]
    recall = {(m, c): [] for m in cuts for c in sizes}
    mass = {m: [] for m in cuts}
    for i in range(min(args.queries, len(queries))):
        t, w = queries.row(i)
        full = np.asarray(dt[t].T @ w).ravel()
        true = set(np.argsort(-full, kind="stable")[:10].tolist())
        heavy = np.argsort(-w, kind="stable")
        for m in cuts:
            keep = heavy[:m]
            part = np.asarray(dt[t[keep]].T @ w[keep]).ravel()
            mass[m].append(w[keep].sum() / w.sum())
            for c in sizes:
                cand = np.argpartition(-part, c)[:c]
                top = cand[np.argsort(-full[cand], kind="stable")[:10]]
                recall[(m, c)].append(len(true & set(top.tolist())) / 10)
    print(f"{args.workload}, {len(docs):,} documents, {min(args.queries, len(queries))} queries")
    print("| heaviest terms kept | share of query weight | " + " | ".join(f"recall@10, C = {c:,}" for c in sizes) + " |")
    print("|---:|---:|" + "---:|" * len(sizes))
    for m in cuts:
        cells = " | ".join(f"{np.mean(recall[(m, c)]):.4f}" for c in sizes)
        print(f"| {m} | {np.mean(mass[m]):.0%} | {cells} |")


if __name__ == "__main__":
    main()
