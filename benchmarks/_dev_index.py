"""Quick development timing of laconic.index on synthetic data (not the official benchmark).

Single thread, per-query latency medians after a warm-up, against scipy brute
force and (with --seismic) pyseismic-lsr on the same data.

Example:
    nice -n 10 python benchmarks/_dev_index.py --docs 200000 --queries 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import load_or_generate  # noqa: E402

from laconic.index import BuildConfig, SearchParams, SparseIndex  # noqa: E402


def per_query(fn, n: int) -> float:
    fn(0)  # warm-up
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def recall(a: list[list[str]], b: list[list[str]]) -> float:
    return float(np.mean([len(set(x) & set(y)) / max(len(y), 1) for x, y in zip(a, b)]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--reorder", default="seeds")
    ap.add_argument("--seismic", action="store_true")
    ap.add_argument("--grid", default="1.0:0,0.9:16,0.8:12,0.7:10")
    args = ap.parse_args()
    import numba

    numba.set_num_threads(1)
    docs, queries = load_or_generate("/tmp/devdata", args.docs, 1000, seed=0, show_progress=False)
    queries = queries[: args.queries]
    nq = len(queries)
    t = time.perf_counter()
    index = SparseIndex.build(docs, config=BuildConfig(block_size=args.block_size, weight_bits=args.bits, reorder=args.reorder))
    build_s = time.perf_counter() - t
    st = index.stats()
    print(f"build {build_s:.2f}s  bytes/doc {st['bytes_per_doc']:.0f}  total {st['total_bytes'] / 2**20:.1f} MiB  pairs/postings {st['term_block_pairs'] / st['postings']:.2f}")
    print({k: round(v / 2**20, 1) for k, v in st["bytes"].items()})
    D_T = docs.to_scipy().T.tocsr()  # inverted (term-major) layout: the fast scipy baseline
    Qs = queries.to_scipy()

    def brute(i):
        s = (Qs[i] @ D_T).toarray().ravel()
        top = np.argpartition(-s, 10)[:10]
        return top[np.argsort(-s[top])]

    t_brute = per_query(brute, nq)
    exact = index.search(queries, k=10, threads=1)
    t_exact = per_query(lambda i: index.search(queries[i], k=10, threads=1), nq)
    # float brute force top-10 vs 8-bit exact
    true = []
    for i in range(nq):
        true.append([str(j) for j in brute(i)])
    print(f"scipy brute {t_brute:.2f} ms  exact {t_exact:.3f} ms  speed-up {t_brute / t_exact:.1f}x  recall(exact {args.bits}-bit vs float) {recall(exact.ids, true):.4f}")
    for item in args.grid.split(","):
        a, c = item.split(":")
        p = SearchParams(alpha=float(a), query_cut=int(c))
        res = index.search(queries, k=10, mode="approximate", params=p, threads=1)
        ta = per_query(lambda i: index.search(queries[i], k=10, mode="approximate", params=p, threads=1), nq)
        print(f"approx alpha={a} cut={c}: {ta:.3f} ms  recall@10 vs exact {recall(res.ids, exact.ids):.4f}")
    if args.seismic:
        import seismic

        t = time.perf_counter()
        st_type = seismic.get_seismic_string()
        ds = seismic.SeismicDatasetLV()
        for i in range(len(docs)):
            ix, v = docs.row(i)
            ds.add_document(str(i), ix.astype(str).astype(st_type), v)
        sidx = seismic.SeismicIndexLV.build_from_dataset(ds, n_postings=max(1000, args.docs // 100 * 3 // 2), centroid_fraction=0.1, summary_energy=0.4, num_threads=1)
        print(f"seismic build {time.perf_counter() - t:.1f}s")
        qc = [queries.row(i)[0].astype(str).astype(st_type) for i in range(nq)]
        qv = [queries.row(i)[1] for i in range(nq)]
        for cut, hf in ((10, 0.9), (20, 0.9), (20, 0.8), (30, 0.9)):
            out = [sidx.search(str(i), qc[i], qv[i], 10, cut, hf) for i in range(nq)]
            ids = [[d for _, _, d in o] for o in out]
            ts = per_query(lambda i: sidx.search(str(i), qc[i], qv[i], 10, cut, hf), nq)
            print(f"seismic cut={cut} hf={hf}: {ts:.3f} ms  recall@10 vs exact {recall(ids, exact.ids):.4f}")


if __name__ == "__main__":
    main()
