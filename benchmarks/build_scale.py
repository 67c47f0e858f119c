"""A collection larger than RAM: shards generated one by one, indexed by the CLI, then searched.

1. Generates ``--docs`` synthetic documents (``--workload``, default the
   LACONIC shape: ~384 terms per document, at most 512) as ``.npz`` shards of
   ``--shard-docs``, each written before the next is drawn (two processes).
   Shard ``i`` is chunks ``[i * c, (i + 1) * c)`` of the generator, so the data
   equal ``benchmarks/synthetic.py``'s for the same seed.
2. Runs ``laconic index build --vectors 'DIR/docs-*.npz'`` in a child process
   and reports its wall time and two peaks of that child alone: ``ru_maxrss``
   from ``wait4`` (counts mapped file pages too) and anonymous memory
   (``RssAnon`` from ``/proc/PID/status``, sampled every 50 ms): the memory the
   build really needs, without the page cache of files it wrote or read.
3. Opens the index memory-mapped (``checksums=False``: structural checks only)
   and times single-thread exact and approximate queries (p50 / p99 after a
   warm-up), plus index size and bytes per document.

Needs disk: ~8 bytes per posting for the shards plus the index (a 10M LACONIC
collection: ~31 GB of shards and ~23 GB of index). ``--delete-shards`` removes
the shards after the build. Never asserts.

Example:
    python benchmarks/build_scale.py --docs 10000000 --data-dir /data/scale --delete-shards
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_report import machine_info  # noqa: E402
from synthetic import CHUNK_DOCS, WORKLOADS, build_topic_model, generate_queries, sample_vectors  # noqa: E402

from laconic.index import SearchParams, SparseIndex  # noqa: E402
from laconic.sparse import SparseVectors  # noqa: E402


def make_shard(workload: str, seed: int, shard: int, shard_docs: int, n_docs: int, path: str) -> int:
    """Write shard ``shard`` (generator chunks of ``CHUNK_DOCS``, ids ``d<global row>``); returns its postings."""
    cfg = WORKLOADS[workload]
    model = build_topic_model(cfg, seed)
    first = shard * shard_docs
    parts = []
    for c in range(first // CHUNK_DOCS, math.ceil(min(first + shard_docs, n_docs) / CHUNK_DOCS)):
        size = min(CHUNK_DOCS, n_docs - c * CHUNK_DOCS)
        rng = np.random.default_rng([seed, 1, c])
        parts.append(sample_vectors(model, cfg, size, rng, nnz_mean=cfg.doc_nnz_mean, n_topics=cfg.doc_topics,
                                    topical=cfg.doc_topical))
    docs = SparseVectors.concat(parts)
    docs.with_ids([f"d{first + i}" for i in range(len(docs))]).save(path)
    return docs.nnz


def run_measured(cmd: list[str]) -> tuple[int, str, str, float, float, float]:
    """Run ``cmd``; return (rc, stdout, stderr, seconds, peak RSS GB, peak anonymous GB) of that child only."""
    peak_anon = [0]

    def sample(pid: int, done: threading.Event) -> None:
        status = Path(f"/proc/{pid}/status")
        while not done.wait(0.05):
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("RssAnon:"):
                        peak_anon[0] = max(peak_anon[0], int(line.split()[1]))
            except OSError:
                return

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        done = threading.Event()
        sampler = threading.Thread(target=sample, args=(proc.pid, done), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = rc = os.waitstatus_to_exitcode(status)  # reaped by wait4: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return rc, out.read(), err.read(), seconds, usage.ru_maxrss / 2**20, peak_anon[0] / 2**20


def timed(index: SparseIndex, queries: SparseVectors, mode: str, params: SearchParams | None, n: int) -> tuple[float, float]:
    for i in range(10):
        index.search(queries[i:i + 1], k=10, mode=mode, params=params, threads=1)
    times = []
    for i in range(min(n, len(queries))):
        t0 = time.perf_counter()
        index.search(queries[i:i + 1], k=10, mode=mode, params=params, threads=1)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3), float(np.quantile(times, 0.99) * 1e3)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=10_000_000)
    ap.add_argument("--shard-docs", type=int, default=200_000, help="a multiple of the generator's 50,000-doc chunk")
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="laconic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default="bench_data/scale")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--delete-shards", action="store_true")
    args = ap.parse_args(argv)
    if args.shard_docs % CHUNK_DOCS:
        ap.error(f"--shard-docs must be a multiple of {CHUNK_DOCS}")
    root = Path(args.data_dir) / f"{args.workload}-{args.docs}"
    shards_dir = root / "shards"
    shards_dir.mkdir(parents=True, exist_ok=True)
    n_shards = math.ceil(args.docs / args.shard_docs)
    t0 = time.perf_counter()
    todo = [i for i in range(n_shards) if not (shards_dir / f"docs-{i:05d}.npz").is_file()]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(make_shard, args.workload, args.seed, i, args.shard_docs, args.docs,
                               str(shards_dir / f"docs-{i:05d}.npz")) for i in todo]
        for f in futures:
            f.result()
    gen_s = time.perf_counter() - t0
    shard_bytes = sum(p.stat().st_size for p in shards_dir.glob("docs-*.npz"))

    index_dir = root / "index"
    laconic = Path(sys.executable).with_name("laconic")
    cmd = [str(laconic), "index", "build", "--vectors", str(shards_dir / "docs-*.npz"), "--output", str(index_dir),
           "--no-progress"]
    rc, stdout, stderr, build_s, peak_gb, anon_gb = run_measured(cmd)
    if rc != 0:
        print(stdout, stderr)
        raise SystemExit(f"build failed (rc {rc})")
    if args.delete_shards:
        shutil.rmtree(shards_dir)

    t0 = time.perf_counter()
    index = SparseIndex.open(index_dir, checksums=False, warm_up=True)
    open_s = time.perf_counter() - t0
    st = index.stats()
    queries = generate_queries(WORKLOADS[args.workload], args.queries, args.seed)
    rows = []
    for label, mode, params in (("exact", "exact", None), ("approximate alpha 0.9", "approximate", SearchParams(alpha=0.9)),
                                ("approximate alpha 0.8", "approximate", SearchParams(alpha=0.8))):
        p50, p99 = timed(index, queries, mode, params, args.queries)
        rows.append(f"| {label} | {p50:.1f} | {p99:.1f} |")
    print(f"`python benchmarks/build_scale.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    print(machine_info() + "\n")
    print("| documents | postings | shards | shard GB | generate s | build s (CLI) | build peak RSS GB "
          "| build peak anonymous GB | index GB | bytes/doc | open + warm-up s (no checksums) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {st['documents']:,} | {st['postings']:,} | {n_shards} | {shard_bytes / 1e9:.1f} | {gen_s:.0f} | {build_s:.0f} "
          f"| {peak_gb:.1f} | {anon_gb:.1f} | {st['total_bytes'] / 1e9:.1f} | {st['bytes_per_doc']:.0f} | {open_s:.1f} |\n")
    print(f"CLI said: {stdout.strip()}\n")
    print("| search, 1 thread, k=10 | p50 ms | p99 ms |")
    print("|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
