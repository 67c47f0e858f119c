"""Per-query comparison of an evaluated system with BM25 on the same queries (``laconic eval --plot``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from laconic.evaluation.datasets import BeirDataset, read_trec_run
from laconic.evaluation.metrics import per_query_metrics
from laconic.evaluation.report import EvalReport

MEASURE = "nDCG@10"


def per_query(report: EvalReport, dataset: BeirDataset, ignore_identical_ids: bool = False) -> dict[str, float]:
    """``{query_id: nDCG@10}`` of a saved report's run (every judged query; absent ones score 0)."""
    if not report.run_path:
        raise ValueError("the report has no run file: evaluate with an output directory")
    run = read_trec_run(report.run_path)
    scores = per_query_metrics(dataset.qrels, run, [MEASURE], ignore_identical_ids=ignore_identical_ids)[MEASURE]
    return {q: scores.get(q, 0.0) for q in dataset.qrels if dataset.qrels[q]}


def plot_against_bm25(report: EvalReport, dataset: BeirDataset, output_dir: str | Path, **common: Any) -> tuple[Path, dict[str, int]]:
    """Run BM25 on ``dataset`` (into ``output_dir/bm25``) and plot per-query nDCG@10 differences.

    Returns the figure's path and the win / loss / tie counts.
    """
    from laconic.evaluation import baselines, runner
    from laconic.evaluation.plots import per_query_plot

    options = {**common, "latency": False, "keep_index": False, "quiet": True}
    bm25 = runner.run_system(baselines.BM25System(), dataset, output_dir=Path(output_dir) / "bm25", **options)
    ignore = bool(common.get("ignore_identical_ids", False))
    ours, theirs = per_query(report, dataset, ignore), per_query(bm25, dataset, ignore)
    figure = Path(output_dir) / "per_query.png"
    counts = per_query_plot(
        ours, theirs, names=(report.model or report.system, "BM25"), measure=MEASURE, path=figure,
        title=f"{dataset.name}/{dataset.split}",
    )
    return figure, counts
