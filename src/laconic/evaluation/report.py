"""``EvalReport``: what one evaluation run measured, saved as JSON next to its TREC run.

One format for every system (LACONIC, BM25, dense) so rows of a results table
are comparable: same metrics, same timing phases, same memory fields.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from laconic.errors import InputError
from laconic.storage import atomic_write_text

__all__ = ["EvalReport", "comparison_table", "load_report"]

REPORT_FILE = "report.json"
RUN_FILE = "run.trec"


@dataclass
class EvalReport:
    """Metrics, timings, sparsity and memory of one (system, dataset, split) evaluation.

    Args:
        model: model name or path (``bm25`` for the lexical baseline).
        system: ``laconic``, ``bm25`` or ``dense``.
        dataset, split: what was evaluated.
        n_docs, n_queries: corpus size and number of judged queries searched.
        k: depth of the retrieved lists.
        mode: search mode (``exact``/``approximate`` for LACONIC, ``exact`` otherwise).
        metrics: ``{measure: mean value}``, e.g. ``{"nDCG@10": 0.66, ...}``.
        timings: seconds per phase (encode corpus, build, encode queries, search),
            throughput, and per-query latency percentiles in milliseconds.
        nnz: mean non-zeros per query and per document vector.
        memory: index bytes (in memory, on disk) against a float32 dense index.
        config: the system's settings (max lengths, top-k, BM25 k1/b, ...).
        environment: machine facts (CPU count, Python, platform).
        run_path, report_path: where the TREC run and this report were written.
        run: the retrieved lists ``{qid: {doc_id: score}}`` (not saved in the JSON).
    """

    model: str
    system: str
    dataset: str
    split: str
    n_docs: int
    n_queries: int
    k: int
    mode: str
    metrics: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    nnz: dict[str, float] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    run_path: str | None = None
    report_path: str | None = None
    run: dict[str, dict[str, float]] | None = field(default=None, repr=False)

    @property
    def primary(self) -> float:
        """nDCG@10 (or the first metric when nDCG@10 was not asked for)."""
        return self.metrics.get("nDCG@10", next(iter(self.metrics.values()), float("nan")))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict without the run."""
        data = asdict(self)
        data.pop("run")
        return data

    def save(self, output_dir: str | Path) -> Path:
        """Write ``report.json`` into ``output_dir`` atomically; returns its path."""
        path = Path(output_dir) / REPORT_FILE
        self.report_path = str(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path

    def table(self):
        """A rich table of this report (metrics, timings, sparsity, memory)."""
        from rich.table import Table

        table = Table(title=f"{self.system}: {self.model} on {self.dataset}/{self.split}", show_header=True)
        table.add_column("what")
        table.add_column("value", justify="right")
        for name, value in self.metrics.items():
            table.add_row(name, f"{value:.4f}")
        table.add_row("docs / queries", f"{self.n_docs:,} / {self.n_queries:,}")
        for name, value in self.timings.items():
            table.add_row(name, f"{value:,.3f}" if isinstance(value, float) else str(value))
        for name, value in self.nnz.items():
            table.add_row(f"nnz {name}", f"{value:,.1f}")
        for name, value in self.memory.items():
            if isinstance(value, (int, float)) and value is not None:
                table.add_row(name, f"{value:,.3f}" if isinstance(value, float) else f"{value:,}")
        return table


def load_report(path: str | Path) -> EvalReport:
    """Read a ``report.json`` (or the folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / REPORT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("report not found", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    try:
        return EvalReport(**data)
    except TypeError as exc:
        raise InputError(f"not an evaluation report ({exc})", path=path) from None


def comparison_table(reports: Sequence[EvalReport], title: str = "Retrieval results"):
    """One row per report: the results table of the README (nDCG@10, R@100, MRR@10, index size, latency)."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("system", "model", "dataset", "nDCG@10", "R@100", "RR@10", "index MB", "ms/query"):
        table.add_column(col, justify="right" if col[0].isupper() or col[0] in "im" else "left")
    for r in reports:
        mb = r.memory.get("index_bytes")
        table.add_row(
            r.system,
            r.model,
            f"{r.dataset}/{r.split}",
            *(f"{r.metrics[m]:.4f}" if m in r.metrics else "-" for m in ("nDCG@10", "R@100", "RR@10")),
            f"{mb / 2**20:,.1f}" if mb else "-",
            f"{r.timings['latency_ms_median']:.2f}" if "latency_ms_median" in r.timings else "-",
        )
    return table


def environment() -> dict[str, Any]:
    """Facts that make timings interpretable (machine, library versions)."""
    import os

    import laconic

    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "laconic": laconic.__version__,
    }
