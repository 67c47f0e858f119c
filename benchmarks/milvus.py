"""Milvus (milvus-lite, embedded) vs laconic's own index on the same sparse vectors.

Question: when a user moves the vectors from ``laconic encode`` into Milvus,
do they get the same top-10, and what do ingest and single-query search cost
next to our index on one machine?

Data: synthetic learned-sparse-like vectors (Zipf-distributed term ids, so
queries and documents share heavy terms as real text does): ``--docs``
documents with ``--doc-terms`` terms, ``--queries`` queries with
``--query-terms`` terms, vocabulary 30,522. Milvus uses SPARSE_INVERTED_INDEX,
inner product, ``drop_ratio_search=0`` (exact). Ours: ``SparseIndex`` with
8-bit (default) and 32-bit weights, exact mode, one thread.

Agreement: overlap@10 (shared ids / 10, mean over queries) and the largest
relative difference of the i-th score. Latency: one query per call, median
and p99 over all queries after one warm-up pass.

Usage:
    nice -n 10 python benchmarks/milvus.py --docs 20000
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from laconic.index import BuildConfig, SparseIndex
from laconic.integrations import MilvusSparseCollection
from laconic.sparse import SparseVectors

VOCAB = 30_522


def zipf_vectors(n: int, nnz: int, seed: int, prefix: str) -> SparseVectors:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, VOCAB + 1) ** 0.9
    p /= p.sum()
    rows = []
    for _ in range(n):
        terms = np.unique(rng.choice(VOCAB, size=nnz, p=p))
        rows.append(dict(zip(terms.tolist(), rng.gamma(2.0, 0.5, terms.size).astype(np.float32).tolist())))
    return SparseVectors.from_dicts(rows, VOCAB, ids=[f"{prefix}{i}" for i in range(n)])


def timed_queries(fn, queries: SparseVectors) -> tuple[list, np.ndarray]:
    for i in range(len(queries)):  # warm-up pass
        fn(queries[i])
    out, times = [], []
    for i in range(len(queries)):
        start = time.perf_counter()
        out.append(fn(queries[i]))
        times.append((time.perf_counter() - start) * 1000)
    return out, np.array(times)


def agreement(a_ids, a_scores, b_ids, b_scores) -> tuple[float, float]:
    overlap = np.mean([len(set(x) & set(y)) / max(len(y), 1) for x, y in zip(a_ids, b_ids)])
    rel = max(
        (float(np.max(np.abs(x[: len(y)] - y[: len(x)]) / np.maximum(np.abs(y[: len(x)]), 1e-9))) if len(x) and len(y) else 0.0)
        for x, y in zip(a_scores, b_scores)
    )
    return float(overlap), rel


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=20_000)
    p.add_argument("--doc-terms", type=int, default=150)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--query-terms", type=int, default=30)
    args = p.parse_args()
    docs = zipf_vectors(args.docs, args.doc_terms, 1, "d")
    queries = zipf_vectors(args.queries, args.query_terms, 2, "q")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        col = MilvusSparseCollection(str(Path(tmp) / "bench.db"), "bench")
        col.create()
        col.insert(docs, batch_size=2000)
        milvus_build = time.perf_counter() - start
        found, t = timed_queries(lambda q: col.search(q, k=10), queries)
        m_ids = [f.ids[0] for f in found]
        m_scores = [f.scores[0] for f in found]
        rows.append(("milvus-lite (float32, exact)", milvus_build, t, 1.0, 0.0))
        col.close()
    for bits in (8, 32):
        start = time.perf_counter()
        index = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits))
        build = time.perf_counter() - start
        found, t = timed_queries(lambda q: index.search(q, k=10, mode="exact", threads=1), queries)
        overlap, rel = agreement([f.ids[0] for f in found], [f.scores[0] for f in found], m_ids, m_scores)
        rows.append((f"laconic SparseIndex ({bits}-bit, exact)", build, t, overlap, rel))
    base = np.median(rows[0][2])
    print(f"command: python benchmarks/milvus.py --docs {args.docs} --queries {args.queries}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}; "
          f"{args.docs} docs x {args.doc_terms} terms, {args.queries} queries x {args.query_terms} terms, vocab {VOCAB}")
    print()
    print("| engine | build/ingest s | query p50 ms | query p99 ms | p50 speed-up vs Milvus | overlap@10 vs Milvus | max rel. score diff |")
    print("|---|---|---|---|---|---|---|")
    for name, build, t, overlap, rel in rows:
        print(f"| {name} | {build:.2f} | {np.median(t):.3f} | {np.percentile(t, 99):.3f} | {base / np.median(t):.1f}x | "
              f"{overlap:.3f} | {rel:.2e} |")


if __name__ == "__main__":
    main()
