"""Search benchmark: laconic's CPU index against its peers, in one run.

Peers, all over the same vectors:

- **brute force** (scipy): ``queries @ docs.T`` then top-k by argpartition; the
  exact oracle every recall figure is measured against.
- **Seismic** (``pyseismic-lsr``, large-vocabulary variant): built the way a
  Python user does, from our CSR arrays; the dataset building is part of its
  build time. Knobs ``query_cut`` x ``heap_factor`` are swept.
- **BMP** (``bmp``) where the collection's terms fit its 16-bit term ids, and
  **PISA** (``pyterrier-pisa``, the ``pisa`` extra) with its rank-safe
  algorithms over integer impacts.
- **laconic exact** and **laconic approximate** (``SparseIndex``); the
  approximate knobs ``query_cut`` x ``alpha`` are swept.

For every system: build time, index bytes, single-thread latency (median and
p99 after a warm-up), batch throughput with ``--threads`` threads and recall@10
against brute force. For the approximate systems the cheapest sweep point that
reaches each recall target (0.95 / 0.98 / 0.99) is timed. The report is a
markdown table printed to stdout (and written to ``--out``). Never asserts.

Example:
    nice -n 10 python benchmarks/search.py --docs 100000 --queries 1000
    python benchmarks/search.py --vectors docs.npz --query-vectors queries.npz
"""

from __future__ import annotations

import os

# Pin the native thread pools before numpy/scipy load, so "1 thread" means one.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import itertools  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_peers import PISA_ALGORITHMS, BmpSystem, BruteForce, LaconicSystem, PisaSystem, SeismicSystem, System  # noqa: E402
from search_report import Row, machine_info, render_report  # noqa: E402

from laconic.sparse import SparseVectors  # noqa: E402
from laconic.storage import atomic_write_text  # noqa: E402

TARGETS = (0.95, 0.98, 0.99)


# ----------------------------------------------------------------- measuring
def recall_at_k(found: np.ndarray, truth: np.ndarray, truth_scores: np.ndarray, found_true: np.ndarray) -> float:
    """Mean recall@k of ``found`` (nq, k) doc rows against the exact ``truth``.

    A hit is a returned document in the exact top-k, or one whose true score
    ties the exact k-th score (so ties broken differently are not misses).
    """
    valid = np.maximum(1, (truth >= 0).sum(axis=1))  # fewer than k matching docs: a shorter truth
    kth = np.where(truth >= 0, truth_scores, np.inf).min(axis=1, keepdims=True)
    in_truth = (found[:, :, None] == truth[:, None, :]).any(axis=2)
    tie = found_true >= kth * (1 - 1e-5) - 1e-6
    hits = ((in_truth | tie) & (found >= 0)).sum(axis=1)
    return float(np.minimum(1.0, hits / valid).mean())


def true_scores(docs_csr, queries_csr, found: np.ndarray) -> np.ndarray:
    """Exact dot products of each query with each of its returned documents (-inf for padding)."""
    nq, k = found.shape
    flat = np.where(found >= 0, found, 0).ravel()
    q_rep = queries_csr[np.repeat(np.arange(nq), k)]
    s = np.asarray(docs_csr[flat].multiply(q_rep).sum(axis=1)).ravel().reshape(nq, k)
    return np.where(found >= 0, s, -np.inf)


def latency_ms(system: System, n: int, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query single-thread latency in ms over the first ``n`` queries, after ``warmup`` untimed ones.

    Returns wall-clock (``perf_counter``) and CPU (``thread_time``: the calling
    thread's CPU, immune to preemption on a shared machine) milliseconds.
    """
    system.set_threads(1)
    for i in range(min(warmup, system.n_queries)):
        system.search_one(i)
    wall, cpu = np.empty(n), np.empty(n)
    for i in range(n):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        system.search_one(i)
        wall[i] = (time.perf_counter() - t0) * 1e3
        cpu[i] = (time.thread_time() - c0) * 1e3
    return wall, cpu


def throughput(system: System, threads: int, repeats: int) -> tuple[float, float, np.ndarray]:
    """Batch queries/s (median of ``repeats`` timed runs after a warm-up), queries per CPU-second, results."""
    system.set_threads(threads)
    system.search_batch(slice(0, min(64, system.n_queries)), threads)  # warm-up
    times, cpus, found = [], [], None
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        found = system.search_batch(slice(0, system.n_queries), threads)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return system.n_queries / float(np.median(times)), system.n_queries / max(1e-9, float(np.median(cpus))), found


# ------------------------------------------------------------------- running
class Bench:
    """Holds the data, the exact answers and the rows of the report."""

    def __init__(self, docs: SparseVectors, queries: SparseVectors, args: argparse.Namespace) -> None:
        self.docs, self.queries, self.args = docs, queries, args
        self.docs_csr, self.q_csr = docs.to_scipy(), queries.to_scipy()
        self.rows: list[Row] = []
        self.sweeps: dict[str, list[tuple]] = {}  # name -> (setting, recall, q/CPU-s, q/s, p50 ms, p99 ms)
        self.notes: list[str] = []
        self.truth = self.truth_scores = None
        self.lat_n = min(args.latency_queries, len(queries))

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def recall(self, found: np.ndarray) -> float:
        return recall_at_k(found, self.truth, self.truth_scores, true_scores(self.docs_csr, self.q_csr, found))

    def build(self, system: System) -> float:
        self.log(f"building {system.name} ...")
        system.set_threads(self.args.threads)
        t0 = time.perf_counter()
        system.build(self.docs)
        sec = time.perf_counter() - t0
        self.log(f"  built in {sec:.1f} s, {system.size_bytes() / 2**20:.1f} MiB")
        return sec

    def measure(self, system: System, setting: str, build_s: float, lat_n: int | None = None) -> Row:
        """Latency, throughput and recall of ``system`` at its current setting -> one report row."""
        lat, cpu = latency_ms(system, lat_n or self.lat_n, self.args.warmup)
        qps, qps_cpu, found = throughput(system, self.args.threads, self.args.repeats)
        row = Row(
            system=system.name, setting=setting, build_s=build_s, index_bytes=system.size_bytes(),
            p50_ms=float(np.median(lat)), p99_ms=float(np.percentile(lat, 99)), qps=qps,
            recall=self.recall(found), cpu_p50_ms=float(np.median(cpu)), cpu_mean_ms=float(cpu.mean()),
            qps_cpu=qps_cpu,
        )
        self.log(f"  {system.name} [{setting}] p50 {row.p50_ms:.3f} ms  {qps:.0f} q/s  recall {row.recall:.4f}")
        self.rows.append(row)
        return row

    def run_brute_force(self) -> None:
        bf = BruteForce(self.queries, self.args.k)
        build_s = self.build(bf)
        bf.set_threads(1)
        c0 = time.process_time()
        t0 = time.perf_counter()
        self.truth = bf.search_batch(slice(0, len(self.queries)), 1)
        batch_s = time.perf_counter() - t0
        batch_cpu = time.process_time() - c0
        self.truth_scores = true_scores(self.docs_csr, self.q_csr, self.truth)
        lat, cpu = latency_ms(bf, min(self.args.bf_latency_queries, len(self.queries)), 3)
        self.rows.append(Row(
            system=bf.name, setting="scipy csr @ csr.T, 1 thread", build_s=build_s, index_bytes=bf.size_bytes(),
            p50_ms=float(np.median(lat)), p99_ms=float(np.percentile(lat, 99)),
            qps=len(self.queries) / batch_s, recall=1.0, cpu_p50_ms=float(np.median(cpu)),
            cpu_mean_ms=float(cpu.mean()), qps_cpu=len(self.queries) / max(1e-9, batch_cpu),
        ))
        self.log(f"  brute force p50 {self.rows[-1].p50_ms:.1f} ms, batch {self.rows[-1].qps:.1f} q/s")
        bf.release()

    def sweep(self, system: System, grid: list[dict], build_s: float) -> None:
        """Recall and throughput at every grid point; then time the cheapest point per recall target.

        "Cheapest" is the most queries per CPU-second: on a shared machine wall-clock
        throughput of a one-shot sweep is too noisy to rank neighbouring points.
        """
        points = []
        curve_n = min(self.args.curve_queries, len(self.queries))
        for params in grid:
            system.configure(**params)
            qps, qps_cpu, found = throughput(system, self.args.threads, 1)
            rec = self.recall(found)
            lat, _ = latency_ms(system, curve_n, 3) if curve_n else (np.full(1, np.nan), None)
            p50, p99 = float(np.median(lat)), float(np.percentile(lat, 99))
            points.append((params, rec, qps_cpu, qps, p50, p99))
            self.log(f"  sweep {system.name} {params}: recall {rec:.4f}, {qps:.0f} q/s, p50 {p50:.3f} ms, p99 {p99:.3f} ms")
        self.sweeps[system.name] = [(fmt_params(p), r, q, w, a, b) for p, r, q, w, a, b in points]
        for target in TARGETS:
            ok = [p for p in points if p[1] >= target]
            if not ok:
                self.log(f"  {system.name}: no sweep point reaches recall {target}")
                self.rows.append(Row(system=system.name, setting=f"target {target}: not reached", build_s=build_s,
                                     index_bytes=system.size_bytes(), target=target))
                continue
            best = max(ok, key=lambda p: p[2])
            done = next((r for r in self.rows if r.system == system.name and r.setting == fmt_params(best[0])), None)
            if done is not None:  # same point as a lower target: reuse its timings
                self.rows.append(dataclasses.replace(done, target=target))
                continue
            system.configure(**best[0])
            row = self.measure(system, fmt_params(best[0]), build_s)
            row.target = target


def curve_points(bench: Bench) -> list[dict]:
    """Every sweep point plus the exact systems, as the points of the recall-latency plot."""
    points = [
        {"engine": name, "recall": r, "p50_ms": a, "p99_ms": b}
        for name, rows in bench.sweeps.items() for _s, r, _q, _w, a, b in rows
    ]
    for row in bench.rows:
        if row.setting == "mode=exact" or row.system == "brute force":
            points.append({"engine": row.system, "recall": row.recall, "p50_ms": row.p50_ms, "p99_ms": row.p99_ms})
    return points


def fmt_params(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "mode")


def seismic_build_kwargs(spec: str, docs: SparseVectors) -> dict:
    """``"retain=0.1,centroid_fraction=0.1"`` -> build kwargs.

    ``retain`` is our shorthand for Seismic's ``n_postings`` (average postings kept
    per list) as a fraction of the collection's postings: Seismic's guide suggests
    3,000-6,000 for MS MARCO (8.8M documents, ~30k terms), i.e. keeping ~10% of
    the postings; a 128k vocabulary needs the fraction, not the absolute number.
    """
    kw: dict = {}
    for k, v in (kv.split("=") for kv in spec.split(",") if kv):
        kw[k] = float(v) if "." in v else int(v)
    if "retain" in kw:
        lists = max(1, int(np.count_nonzero(np.bincount(docs.indices, minlength=docs.vocab_size))))
        kw["n_postings"] = max(1, int(round(kw.pop("retain") * docs.nnz / lists)))
    return kw


def grid(spec: str, names: tuple[str, ...], cast: tuple[type, ...]) -> list[dict]:
    """``"5,10,20x0.7,0.9"`` -> the cross product as a list of keyword dicts (trailing factors optional)."""
    parts = spec.split("x")
    if not 1 <= len(parts) <= len(names):
        raise SystemExit(f"grid {spec!r}: expected up to {len(names)} 'x'-separated lists ({', '.join(names)})")
    axes = [[c(v) for v in part.split(",")] for part, c in zip(parts, cast)]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def load_vectors(args: argparse.Namespace) -> tuple[SparseVectors, SparseVectors, str]:
    if args.vectors:
        if not args.query_vectors:
            raise SystemExit("--vectors needs --query-vectors")
        docs, queries = SparseVectors.load(args.vectors), SparseVectors.load(args.query_vectors)
        return docs, queries, f"real encodings: {args.vectors} ({len(docs):,} docs), {args.query_vectors}"
    from synthetic import WORKLOADS, load_or_generate

    docs, queries = load_or_generate(args.data_dir, args.docs, args.queries, args.seed, cfg=WORKLOADS[args.workload])
    return docs, queries, f"synthetic, workload {args.workload!r} (benchmarks/synthetic.py WORKLOADS, seed {args.seed})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000, help="synthetic documents")
    ap.add_argument("--queries", type=int, default=1_000, help="synthetic queries")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workload", choices=("easy", "laconic"), default="easy",
                    help="synthetic shape: easy (~150/40 terms) or laconic (top-512, ~384/293 terms)")
    ap.add_argument("--data-dir", default="bench_data", help="cache of synthetic data and scratch indexes")
    ap.add_argument("--vectors", help="documents .npz (SparseVectors, e.g. from `laconic encode`)")
    ap.add_argument("--query-vectors", help="queries .npz")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2, help="threads for builds and batch throughput")
    ap.add_argument("--latency-queries", type=int, default=1000, help="queries timed one by one")
    ap.add_argument("--bf-latency-queries", type=int, default=50, help="brute force is slow: time fewer")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="timed batch runs (median)")
    ap.add_argument("--systems", default="laconic,seismic", help="comma list of laconic, seismic, bmp, pisa; run in order (brute force always runs)")
    ap.add_argument("--seismic-build", default="retain=0.1,max_fraction=6.0;retain=0.25,max_fraction=6.0",
                    help="';'-separated build configs of comma-separated kwargs (n_postings=3500,summary_energy=0.4, "
                         "or retain=FRACTION for n_postings as a share of all postings)")
    ap.add_argument("--seismic-grid", default="5,10,20,40,80x0.7,0.8,0.9,1.0", help="query_cut list x heap_factor list")
    ap.add_argument("--pisa-algorithms", default=",".join(PISA_ALGORITHMS), help="PISA query algorithms to sweep")
    ap.add_argument("--bmp-grid", default="0.8,0.9,1.0x0.5,0.8,1.0", help="BMP alpha list x beta list")
    ap.add_argument("--laconic-reorder", default="seeds",
                    help="document orders to build laconic with, each its own system (comma list of seeds, bp, terms, none)")
    ap.add_argument("--laconic-storage", default="blocks",
                    help="storage layouts to search each laconic build in, each its own system (comma list of blocks, compact)")
    ap.add_argument("--laconic-grid", default="8,16,32,0x0.8,0.9,0.95,0.97,1.0", help="query_cut list x alpha list [x candidates list [x max_blocks list]]")
    ap.add_argument("--out", help="also write the markdown report here")
    ap.add_argument("--curve-queries", type=int, default=200,
                    help="queries timed one by one at every sweep point (p50/p99 of the recall-latency curves)")
    ap.add_argument("--plot", help="also write the recall@10 vs p50/p99 latency curves here (PNG)")
    ap.add_argument("--title", default="", help="title of the plot")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv if argv is not None else sys.argv[1:])])
    docs, queries, source = load_vectors(args)
    if docs.vocab_size != queries.vocab_size:
        raise SystemExit(f"vocab sizes differ: docs {docs.vocab_size}, queries {queries.vocab_size}")
    bench = Bench(docs, queries, args)
    bench.log(f"{len(docs):,} docs ({docs.nnz / max(1, len(docs)):.1f} nnz/doc), {len(queries):,} queries "
              f"({queries.nnz / max(1, len(queries)):.1f} nnz/query), vocab {docs.vocab_size:,}")
    scratch = Path(tempfile.mkdtemp(prefix="search-bench-", dir=None if args.vectors else Path(args.data_dir).resolve()))

    def report() -> str:
        """Render (and save) the report so far: a run cut short still leaves its finished systems."""
        text = render_report(
            bench.rows, bench.sweeps, bench.notes, command=command, machine=machine_info(), source=source,
            n_docs=len(docs), docs_nnz=docs.nnz, queries=len(queries), q_nnz=queries.nnz, args=args,
        )
        if args.out:
            atomic_write_text(args.out, text)
        if args.plot and bench.sweeps:
            from laconic.evaluation.plots import recall_latency_plot

            recall_latency_plot(curve_points(bench), args.plot, title=args.title)
        return text

    try:
        bench.run_brute_force()  # always: it is the recall oracle
        report()
        for system in args.systems.split(","):  # in the order given
            if system == "seismic":
                run_seismic(bench, args, docs, queries, scratch)
            elif system == "laconic":
                for reorder in args.laconic_reorder.split(","):
                    run_laconic(bench, args, queries, scratch, reorder)
            elif system == "bmp":
                run_bmp(bench, args, docs, queries, scratch)
            elif system == "pisa":
                run_pisa(bench, args, docs, queries, scratch)
            else:
                raise SystemExit(f"--systems: unknown system {system!r} (laconic, seismic, bmp, pisa)")
            report()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(report())


def run_seismic(bench: Bench, args: argparse.Namespace, docs: SparseVectors, queries: SparseVectors,
                scratch: Path) -> None:
    """One build and knob sweep per ``--seismic-build`` configuration."""
    for build in args.seismic_build.split(";"):
        build_kw = seismic_build_kwargs(build, docs)
        sz = SeismicSystem(queries, args.k, build_kw, scratch)
        sz.name = "Seismic" if not any(n.startswith("Seismic") for n in bench.sweeps) else f"Seismic ({fmt_params(build_kw)})"
        build_s = bench.build(sz)
        log = " | ".join(line.strip() for line in sz.build_log.splitlines()[2:6])
        bench.notes.append(f"{sz.name}: build {build_kw}, {build_s:.1f} s; saved to disk {sz.disk_bytes():,} bytes; "
                           f"its build log: {log}")
        bench.sweep(sz, grid(args.seismic_grid, ("query_cut", "heap_factor"), (int, float)), build_s)
        sz.release()


def run_bmp(bench: Bench, args: argparse.Namespace, docs: SparseVectors, queries: SparseVectors, scratch: Path) -> None:
    """BMP where its 16-bit term ids can hold the collection's terms; otherwise a note says why not."""
    if not BmpSystem.fits(docs):
        bench.notes.append("BMP: not run. The collection uses more than 65,536 distinct terms and bmp keeps "
                           "term ids in 16 bits (a 70k-term collection scored wrongly when tried).")
        return
    bm = BmpSystem(queries, args.k, scratch)
    build_s = bench.build(bm)
    bench.sweep(bm, grid(args.bmp_grid, ("alpha", "beta"), (float, float)), build_s)
    bm.release()


def run_pisa(bench: Bench, args: argparse.Namespace, docs: SparseVectors, queries: SparseVectors,
             scratch: Path) -> None:
    """PISA's rank-safe algorithms over one build; a note says so when pyterrier-pisa is not installed."""
    try:
        import pyterrier_pisa  # noqa: F401
    except ImportError as e:
        bench.notes.append(f"PISA: not run, pyterrier-pisa is not importable ({e}); `pip install -e '.[pisa]'`.")
        return
    algorithms = args.pisa_algorithms.split(",")
    unknown = set(algorithms) - set(PISA_ALGORITHMS)
    if unknown:
        raise SystemExit(f"--pisa-algorithms: unknown {sorted(unknown)}; choose from {', '.join(PISA_ALGORITHMS)}")
    ps = PisaSystem(queries, args.k, scratch)
    build_s = bench.build(ps)
    bench.notes.append(f"PISA: integer impacts max(1, round(100 w)), block_simdbp lists, block-max data over 64 "
                       f"postings; {build_s:.1f} s to write its binary collection, compress and build the bounds.")
    bench.sweep(ps, [{"algorithm": a} for a in algorithms], build_s)
    ps.release()


def run_laconic(bench: Bench, args: argparse.Namespace, queries: SparseVectors, scratch: Path, reorder: str) -> None:
    """Build once (document order ``reorder``); per ``--laconic-storage`` layout, save and reopen the
    build in it, time exact mode, then sweep approximate mode."""
    lc = LaconicSystem(queries, args.k, scratch, reorder)
    build_s = None
    for storage in args.laconic_storage.split(","):
        if storage not in ("blocks", "compact"):
            raise SystemExit(f"--laconic-storage: unknown layout {storage!r} (blocks, compact)")
        tags = [reorder] if reorder != "seeds" else []
        tags += [storage] if storage != "blocks" else []
        tag = f" ({', '.join(tags)})" if tags else ""
        lc.name = f"laconic{tag}"
        if build_s is None:
            build_s = bench.build(lc)
        lc.save_and_reopen(storage)
        lc.configure(mode="exact")
        lc.name = f"laconic exact{tag}"
        bench.measure(lc, "mode=exact", build_s)
        bench.notes.append(f"laconic{tag} stats(): {lc.index.stats()}")
        knobs = grid(args.laconic_grid, ("query_cut", "alpha", "candidates", "max_blocks"), (int, float, int, int))
        for p in knobs:  # candidates only matter with a query cut: one point per one-stage setting
            if p["query_cut"] == 0:
                p.pop("candidates", None)
        unique = dict.fromkeys(tuple(p.items()) for p in knobs)
        sweep_grid = [dict(mode="approximate", **dict(p)) for p in unique]
        lc.name = f"laconic approx{tag}"
        bench.sweep(lc, sweep_grid, build_s)
    lc.release()

if __name__ == "__main__":
    main()
