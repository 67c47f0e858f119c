"""Figures written by the scripts that produce the numbers (matplotlib, PNG, no display needed).

- :func:`per_query_plot`: where a model wins and loses against a baseline, query by query
  (``laconic eval --plot``);
- :func:`recall_latency_plot`: recall@10 against p50 and p99 latency, one curve per engine
  (``benchmarks/search.py``);
- :func:`training_curves`: loss, FLOPS and non-zeros per vector over the steps of one or
  more runs (``experiments/plot_training.py``, from ``metrics.jsonl``);
- :func:`ndcg_bars`: nDCG@10 per dataset per system (``experiments/results_table.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - the plot extra is part of [all]
        from laconic.errors import ConfigError

        raise ConfigError("plots need matplotlib: pip install 'laconic[plot]'") from exc
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    from laconic.storage import atomic_file

    path = Path(path)
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=130, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def per_query_plot(
    ours: Mapping[str, float], theirs: Mapping[str, float], *, names: tuple[str, str], measure: str, path: str | Path,
    title: str = "",
) -> dict[str, int]:
    """Sorted per-query differences ``ours - theirs`` as bars; returns wins / losses / ties.

    Queries missing from one side count as 0 there (as the mean does).
    """
    plt = _pyplot()
    queries = sorted(set(ours) | set(theirs))
    diffs = sorted((ours.get(q, 0.0) - theirs.get(q, 0.0) for q in queries), reverse=True)
    wins = sum(d > 1e-9 for d in diffs)
    losses = sum(d < -1e-9 for d in diffs)
    ties = len(diffs) - wins - losses
    fig, ax = plt.subplots(figsize=(9, 3.6))
    colors = ["#2f6fdb" if d > 1e-9 else "#d64545" if d < -1e-9 else "#9aa3ad" for d in diffs]
    ax.bar(range(len(diffs)), diffs, width=1.0, color=colors)
    ax.axhline(0, color="#333", linewidth=0.8)
    ax.set_xlim(-0.5, len(diffs) - 0.5)
    ax.set_xlabel(f"queries, sorted by difference ({len(diffs)})")
    ax.set_ylabel(f"{measure}: {names[0]} − {names[1]}")
    mean_a = sum(ours.get(q, 0.0) for q in queries) / max(len(queries), 1)
    mean_b = sum(theirs.get(q, 0.0) for q in queries) / max(len(queries), 1)
    ax.set_title(
        f"{title + ': ' if title else ''}{names[0]} wins {wins}, loses {losses}, ties {ties} "
        f"(mean {mean_a:.3f} vs {mean_b:.3f})",
        fontsize=10,
    )
    _save(fig, path)
    return {"wins": wins, "losses": losses, "ties": ties}


def recall_latency_plot(points: Sequence[Mapping[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """``points``: dicts with ``engine``, ``recall``, ``p50_ms``, ``p99_ms`` (one per setting, any order).

    Two panels (p50 and p99 latency on a log axis against recall@10). Every
    setting is a faint dot; each engine's line joins its Pareto-optimal settings
    (no other setting of the engine is both faster and at least as accurate).
    """
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    engines = list(dict.fromkeys(p["engine"] for p in points))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key, label in zip(axes, ("p50_ms", "p99_ms"), ("p50", "p99")):
        for i, engine in enumerate(engines):
            rows = [p for p in points if p["engine"] == engine]
            color = colors[i % len(colors)]
            ax.scatter([p[key] for p in rows], [p["recall"] for p in rows], s=10, color=color, alpha=0.35)
            front, best = [], -1.0
            for p in sorted(rows, key=lambda p: (p[key], -p["recall"])):
                if p["recall"] > best:
                    front.append(p)
                    best = p["recall"]
            ax.plot([p[key] for p in front], [p["recall"] for p in front], marker="o", markersize=4, color=color, label=engine)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{label} latency per query (ms, log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("recall@10 vs exact")
    axes[1].legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def ndcg_bars(scores: Mapping[str, Mapping[str, float]], datasets: Sequence[str], path: str | Path,
              measure: str = "nDCG@10") -> Path:
    """Grouped bars: one group per dataset, one bar per system (``scores[system][dataset]``)."""
    plt = _pyplot()
    systems = list(scores)
    width = 0.8 / max(len(systems), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 + 1.4 * len(datasets) * max(len(systems), 1) * 0.45), 3.8))
    for i, system in enumerate(systems):
        xs = [d + (i - (len(systems) - 1) / 2) * width for d in range(len(datasets))]
        values = [scores[system].get(name, 0.0) for name in datasets]
        bars = ax.bar(xs, values, width=width * 0.95, label=system)
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(datasets)), datasets)
    top = max((v for per in scores.values() for v in per.values()), default=1.0)
    ax.set_ylim(0, top * 1.35)  # room for the legend above the bars
    ax.set_ylabel(measure)
    ax.legend(fontsize=8, ncols=2)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def training_curves(runs: Mapping[str, Sequence[Mapping[str, Any]]], path: str | Path, smooth: int = 10) -> Path:
    """``runs``: name -> ``metrics.jsonl`` records. Panels: ranking loss; FLOPS and non-zeros, queries and documents.

    Each series is drawn raw (faint) and as a ``smooth``-step moving average.
    """
    import numpy as np

    plt = _pyplot()
    panels = [(("ranking",), "ranking (InfoNCE) loss"), (("flops_q", "flops_d"), "FLOPS regulariser"),
              (("nnz_q", "nnz_d"), "non-zeros per vector")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (keys, label) in zip(axes, panels):
        for name, records in runs.items():
            for key in keys:
                rows = [(r["step"], float(r[key])) for r in records if isinstance(r.get(key), (int, float))]
                if rows:
                    suffix = {"_q": " (queries)", "_d": " (documents)"}.get(key[-2:], "")
                    steps, values = (np.array(v) for v in zip(*rows))
                    style = "--" if key.endswith("_q") else "-"
                    line = ax.plot(steps, values, linewidth=0.7, alpha=0.3, linestyle=style)[0]
                    width = max(1, min(smooth, len(values)))
                    mean = np.convolve(values, np.ones(width) / width, mode="valid")
                    ax.plot(steps[width - 1:], mean, color=line.get_color(), linewidth=1.6, linestyle=style,
                            label=f"{name}{suffix}, {width}-step mean")
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)
