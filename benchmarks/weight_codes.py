"""8-bit weight codes against float brute force: recall@10 of what the index stores, per workload.

For each workload (synthetic ``easy`` and ``laconic`` shapes, each also with its
weights replaced by heavy-tailed log-normal(-0.5, 0.8) draws, and optionally
real vectors via ``--vectors``/``--query-vectors``) it prints:

- ``v1 linear``: recall@10 of brute force over version 1's codes (one linear
  scale per collection, ``round(w / (max / 255))``, zero codes dropped); exact
  search over a version-1 index returns exactly this;
- ``v2 8-bit`` / ``v2 16-bit``: recall@10 of laconic's exact search over an index
  built now (pair-relative codes, docs/index-format.md);
- index bytes per document, build seconds and exact-mode single-thread p50/p99
  of the 8-bit index.

Recall is against float brute force over the original weights; a returned
document whose true score ties the true k-th counts as a hit. Never asserts.

Example:
    python benchmarks/weight_codes.py --docs 200000 --queries 500
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_report import machine_info  # noqa: E402
from synthetic import WORKLOADS, load_or_generate  # noqa: E402

from laconic.index import BuildConfig, SparseIndex  # noqa: E402
from laconic.sparse import SparseVectors  # noqa: E402


def top_k(queries: SparseVectors, docs: SparseVectors, k: int, chunk: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k rows and the k-th score per query (float64 scipy products, ``chunk`` queries at a time)."""
    d_t = docs.to_scipy().T.astype(np.float64).tocsr()
    q = queries.to_scipy().astype(np.float64)
    rows, kth = [], []
    for a in range(0, q.shape[0], chunk):
        s = (q[a:a + chunk] @ d_t).toarray()
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        rows.append(idx)
        kth.append(np.take_along_axis(s, idx, axis=1).min(axis=1))
    return np.concatenate(rows), np.concatenate(kth)


def true_scores(queries: SparseVectors, docs: SparseVectors, rows: np.ndarray) -> np.ndarray:
    """Float64 scores of the given document rows per query (0 for -1 padding)."""
    q = queries.to_scipy().astype(np.float64)
    d = docs.to_scipy().astype(np.float64).tocsr()
    out = np.zeros(rows.shape)
    for i in range(rows.shape[0]):
        ok = rows[i] >= 0
        out[i, ok] = (d[rows[i][ok]] @ q[i].T).toarray().ravel()
    return out


def recall(found_scores: np.ndarray, kth: np.ndarray, k: int) -> float:
    hit = (found_scores >= kth[:, None] * (1 - 1e-6)) & (found_scores > 0)
    return float(hit.sum() / (k * len(kth)))


def linear_v1(docs: SparseVectors) -> SparseVectors:
    """Version 1's 8-bit codes, dequantised: one linear scale, zero codes dropped (set to 0)."""
    scale = float(docs.values.max()) / 255.0
    codes = np.clip(np.floor(docs.values / scale + 0.5), 0, 255)
    return SparseVectors(docs.indptr, docs.indices, (codes * scale).astype(np.float32), docs.vocab_size)


def heavy(docs: SparseVectors, seed: int = 11) -> SparseVectors:
    values = np.random.default_rng(seed).lognormal(-0.5, 0.8, docs.nnz).astype(np.float32)
    return SparseVectors(docs.indptr, docs.indices, values, docs.vocab_size)


def latency(index: SparseIndex, queries: SparseVectors, n: int) -> tuple[float, float]:
    for i in range(min(20, len(queries))):
        index.search(queries[i:i + 1], k=10, threads=1)
    times = []
    for i in range(min(n, len(queries))):
        t0 = time.perf_counter()
        index.search(queries[i:i + 1], k=10, threads=1)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3), float(np.quantile(times, 0.99) * 1e3)


def run(name: str, docs: SparseVectors, queries: SparseVectors, k: int, latency_queries: int) -> str:
    docs = SparseVectors(docs.indptr, docs.indices, docs.values, docs.vocab_size, [str(i) for i in range(len(docs))])
    t0 = time.perf_counter()
    _, kth = top_k(queries, docs, k)
    bf_s = time.perf_counter() - t0
    rows_v1, _ = top_k(queries, linear_v1(docs), k)
    r_v1 = recall(true_scores(queries, docs, rows_v1), kth, k)
    cells = [name, f"{len(docs):,}", f"{docs.row_nnz().mean():.0f} / {queries.row_nnz().mean():.0f}",
             f"{float(docs.values.max() / np.median(docs.values)):.0f}", f"{r_v1:.4f}"]
    for bits in (8, 16):
        t0 = time.perf_counter()
        index = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits), show_progress=False)
        build = time.perf_counter() - t0
        got = index.search(queries, k=k, threads=2)
        rows = np.full((len(queries), k), -1, np.int64)
        for i, ids in enumerate(got.ids):
            rows[i, : len(ids)] = np.array(ids, dtype=np.int64)
        cells.append(f"{recall(true_scores(queries, docs, rows), kth, k):.4f}")
        if bits == 8:
            p50, p99 = latency(index, queries, latency_queries)
            extra = [f"{index.stats()['bytes_per_doc']:.0f}", f"{build:.1f}", f"{p50:.2f} / {p99:.2f}"]
        del index
    cells += extra + [f"{bf_s / len(queries) * 1e3:.1f}"]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--workloads", default="easy,laconic")
    ap.add_argument("--data-dir", default="bench_data")
    ap.add_argument("--vectors", help="real documents .npz (SparseVectors)")
    ap.add_argument("--query-vectors", help="real queries .npz")
    ap.add_argument("--name", default="real", help="label of --vectors in the table")
    ap.add_argument("--latency-queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args(argv)
    print(f"`python benchmarks/weight_codes.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    print(machine_info() + "\n")
    print("| workload | docs | terms doc / query | max / median weight | v1 linear recall | v2 8-bit recall "
          "| v2 16-bit recall | bytes/doc (8-bit) | build s | exact p50 / p99 ms | brute force ms/query |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    jobs = []
    for w in filter(None, args.workloads.split(",")):
        docs, queries = load_or_generate(args.data_dir, args.docs, args.queries, cfg=WORKLOADS[w], show_progress=False)
        jobs += [(w, docs, queries), (f"{w}, log-normal(-0.5, 0.8) weights", heavy(docs), queries)]
    if args.vectors:
        jobs.append((args.name, SparseVectors.load(args.vectors), SparseVectors.load(args.query_vectors)))
    for name, docs, queries in jobs:
        print(run(name, docs, queries, args.k, args.latency_queries), flush=True)


if __name__ == "__main__":
    main()
