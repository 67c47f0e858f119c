"""The search benchmark's report: one markdown page with the table, ratios and goals check."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata

DENSE_DIMS = {2048: "Llama-3.2-1B", 3072: "Llama-3.2-3B", 4096: "Llama-3.1-8B"}


@dataclass
class Row:
    """One timed configuration of one system."""

    system: str
    setting: str
    build_s: float
    index_bytes: int
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    qps: float = float("nan")
    recall: float = float("nan")
    target: float | None = None
    cpu_p50_ms: float = float("nan")  # single-thread CPU time per query (thread_time), robust to preemption
    cpu_mean_ms: float = float("nan")
    qps_cpu: float = float("nan")  # batch queries per CPU-second (process_time), robust to a busy machine


def machine_info() -> str:
    """CPU model, core count and memory, read from /proc where available."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
                break
    except OSError:
        pass
    versions = []
    for pkg in ("numpy", "scipy", "numba", "pyseismic-lsr"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, {', '.join(versions)}"


def _mib(b: float) -> str:
    return f"{b / 2**20:,.1f}" if b and b > 0 else "-"


def _x(a: float, b: float) -> str:
    """``a / b`` as a ratio string, '-' when either is missing."""
    if not (a == a and b == b) or not b or not a:  # NaN-safe
        return "-"
    return f"{a / b:.2f}x"


def _f(v: float, fmt: str) -> str:
    return "-" if v != v else format(v, fmt)


def _find(rows: list[Row], system: str, target: float | None = None) -> Row | None:
    for r in rows:
        if r.system == system and (target is None or r.target == target) and r.qps == r.qps:
            return r
    return None


def _best_seismic(rows: list[Row], target: float) -> Row | None:
    """The fastest (p50) Seismic row reaching ``target`` over all its build configurations."""
    ok = [r for r in rows if r.system.startswith("Seismic") and r.target == target and r.p50_ms == r.p50_ms]
    return min(ok, key=lambda r: r.p50_ms) if ok else None


def render_report(rows: list[Row], sweeps: dict, notes: list[str], *, command: str, machine: str, source: str, n_docs: int,
                  docs_nnz: int, queries: int, q_nnz: int, args) -> str:
    """Markdown: header, main table (ratios vs brute force and Seismic), memory, goals, sweeps."""
    bf = _find(rows, "brute force")
    out = [
        "# Search benchmark",
        "",
        f"- command: `{command}`",
        f"- machine: {machine}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- data: {source}; {n_docs:,} documents ({docs_nnz / max(1, n_docs):.1f} non-zeros each), "
        f"{queries:,} queries ({q_nnz / max(1, queries):.1f} non-zeros each)",
        f"- k = {args.k}; latency: one query per call, 1 thread, after {args.warmup} warm-up queries, "
        f"median and p99; throughput: whole batch, {args.threads} threads, median of {args.repeats}; "
        f"builds with {args.threads} threads; recall@{args.k} against the brute-force top-{args.k}.",
        "",
        f"| system | setting | recall target | build s | index MiB | p50 ms | p99 ms | CPU p50 ms | CPU mean ms "
        f"| q/s ({args.threads} thr) | q/CPU-s | recall@{args.k} | p50 speed-up vs brute (wall; CPU) "
        f"| p50 speed-up vs Seismic, same target (wall; CPU) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        sz = _best_seismic(rows, r.target) if r.target is not None and not r.system.startswith("Seismic") else None
        out.append(
            f"| {r.system} | {r.setting} | {r.target if r.target is not None else '-'} | {r.build_s:.1f} "
            f"| {_mib(r.index_bytes)} | {_f(r.p50_ms, '.3f')} | {_f(r.p99_ms, '.3f')} | {_f(r.cpu_p50_ms, '.3f')} "
            f"| {_f(r.cpu_mean_ms, '.3f')} | {_f(r.qps, ',.0f')} | {_f(r.qps_cpu, ',.0f')} | {_f(r.recall, '.4f')} "
            f"| {_x(bf.p50_ms, r.p50_ms) if bf else '-'}; {_x(bf.cpu_p50_ms, r.cpu_p50_ms) if bf else '-'} "
            f"| {_x(sz.p50_ms, r.p50_ms) if sz else '-'}; {_x(sz.cpu_p50_ms, r.cpu_p50_ms) if sz else '-'} |"
        )
    out += _memory(rows, n_docs) + _goals(rows) + _sweeps(sweeps)
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def _memory(rows: list[Row], n_docs: int) -> list[str]:
    lac = next((r for r in rows if r.system.startswith("laconic")), None)
    seismic = {r.system: r.index_bytes for r in rows if r.system.startswith("Seismic")}
    out = ["", "## Index memory against a float32 dense index", "",
           "| index | bytes | MiB | laconic index saves |", "|---|---:|---:|---:|"]
    for name, b in [("laconic (on disk = mapped)", lac.index_bytes if lac else 0)] + [
        (f"{k} (its own space report)", v) for k, v in seismic.items()
    ]:
        if b > 0:
            out.append(f"| {name} | {b:,} | {_mib(b)} | - |")
    for dim, model in DENSE_DIMS.items():
        dense = n_docs * dim * 4
        save = f"{100 * (1 - lac.index_bytes / dense):.0f}%" if lac and lac.index_bytes > 0 else "-"
        out.append(f"| dense float32, {dim} dims ({model} hidden size) | {dense:,} | {_mib(dense)} | {save} |")
    return out


def _laconic_tags(rows: list[Row]) -> list[str]:
    """The document-order tags of the laconic builds in the run ("" for seeds, " (bp)", ...), in run order."""
    tags: list[str] = []
    for r in rows:
        for mode in ("laconic exact", "laconic approx"):
            if r.system.startswith(mode):
                tag = r.system[len(mode):]
                if tag not in tags:
                    tags.append(tag)
    return tags


def _goals(rows: list[Row]) -> list[str]:
    """Issue 11's goals, one line per laconic build (document order) and recall target."""
    bf = _find(rows, "brute force")
    out = ["", "## Goals check", ""]

    def line(goal: str, ok: bool | None, detail: str) -> None:
        out.append(f"- {goal}: **{'met' if ok else 'missed' if ok is not None else 'n/a'}** ({detail})")

    for tag in _laconic_tags(rows) or [""]:
        ex = _find(rows, f"laconic exact{tag}")
        if bf and ex:
            ratio = bf.p50_ms / ex.p50_ms
            line(f"exact search{tag} >= 10x faster than brute force (p50 latency)", ratio >= 10,
                 f"{ratio:.1f}x wall; {_x(bf.cpu_p50_ms, ex.cpu_p50_ms)} CPU p50; {_x(bf.cpu_mean_ms, ex.cpu_mean_ms)} CPU mean")
        else:
            line(f"exact search{tag} >= 10x faster than brute force", None, "not run")
        for t in (0.98, 0.99):
            la, sz = _find(rows, f"laconic approx{tag}", t), _best_seismic(rows, t)
            if la:
                ratio = la.p99_ms / la.p50_ms
                line(f"laconic{tag} p99 <= 4x its p50 at recall >= {t}", ratio <= 4,
                     f"{la.p99_ms:.3f} / {la.p50_ms:.3f} ms = {ratio:.2f}x")
            if la and sz:
                line(f"approximate{tag} faster than Seismic at recall >= {t} (p50 and p99 latency; q/s)",
                     la.p50_ms < sz.p50_ms and la.p99_ms < sz.p99_ms,
                     f"p50 laconic {la.p50_ms:.3f} ms vs Seismic {sz.p50_ms:.3f} ms = {sz.p50_ms / la.p50_ms:.2f}x; "
                     f"p99 {la.p99_ms:.3f} vs {sz.p99_ms:.3f} ms = {sz.p99_ms / la.p99_ms:.2f}x; "
                     f"CPU p50 {_x(sz.cpu_p50_ms, la.cpu_p50_ms)}, CPU mean {_x(sz.cpu_mean_ms, la.cpu_mean_ms)}; "
                     f"{la.qps:,.0f} vs {sz.qps:,.0f} q/s = {la.qps / sz.qps:.2f}x, per CPU-s {_x(la.qps_cpu, sz.qps_cpu)}")
            else:
                line(f"approximate{tag} faster than Seismic at recall >= {t}", None,
                     f"laconic{tag} {'reached' if la else 'did not reach'} it, Seismic {'reached' if sz else 'did not reach'} it")
    lb = next((r for r in rows if r.system.startswith("laconic")), None)
    # build and size against the Seismic build that serves recall 0.98 best (else the first build)
    sb = _best_seismic(rows, 0.98) or next((r for r in rows if r.system.startswith("Seismic")), None)
    if lb and sb:
        line(f"build >= 5x faster than Seismic [{sb.system}]", sb.build_s / lb.build_s >= 5,
             f"{lb.build_s:.1f} s vs {sb.build_s:.1f} s = {sb.build_s / lb.build_s:.2f}x")
        line("index no larger than Seismic's", lb.index_bytes <= sb.index_bytes,
             f"{_mib(lb.index_bytes)} MiB vs {_mib(sb.index_bytes)} MiB = {lb.index_bytes / sb.index_bytes:.2f}x")
    return out


def _sweeps(sweeps: dict) -> list[str]:
    out = []
    for name, points in sweeps.items():
        out += ["", f"## {name}: knob sweep (recall and q/s: batch, all queries; p50/p99: one query at a time)", "",
                "| setting | recall@k | q/CPU-s | q/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {s} | {r:.4f} | {q:,.0f} | {w:,.0f} | {a:.3f} | {b:.3f} |" for s, r, q, w, a, b in points]
    return out
