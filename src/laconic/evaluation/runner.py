"""The evaluation loop: encode, index, search, score, time and report.

``run_system`` drives any :class:`RetrievalSystem` through the same timed
phases; ``evaluate`` is the one-call entry point for a LACONIC model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import InputError
from laconic.evaluation.datasets import BeirDataset, load_beir, write_trec_run
from laconic.evaluation.metrics import DEFAULT_MEASURES, compute_metrics
from laconic.evaluation.report import RUN_FILE, EvalReport, environment
from laconic.evaluation.sparse_system import LaconicSystem, model_display_name
from laconic.evaluation.system import RetrievalSystem

__all__ = ["default_output_dir", "evaluate", "resolve_dataset", "run_system"]


def default_output_dir(dataset: str, model: str, root: str | Path = "runs/eval") -> Path:
    """``runs/eval/<dataset>-<model>/``, the CLI's default output folder."""
    return Path(root) / f"{dataset}-{model}"


def resolve_dataset(
    dataset: str | Path | BeirDataset, split: str, max_docs: int | None = None, strict: bool = False
) -> BeirDataset:
    """A loaded dataset from a folder (or as given), optionally cut to ``max_docs`` documents.

    ``strict`` refuses a published dataset's quirks instead of accepting and reporting them.
    """
    ds = dataset if isinstance(dataset, BeirDataset) else load_beir(dataset, split, strict=strict)
    if max_docs is not None and max_docs < len(ds.doc_ids):
        ds = ds.subset(max_docs)
    if not ds.query_ids:
        raise InputError(f"no judged queries in split {ds.split!r} of {ds.name}")
    return ds


def _timed(fn, *args, **kwargs) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _latencies(system: RetrievalSystem, queries: Any, k: int, threads: int | None) -> np.ndarray:
    """Seconds per single-query search, after one warm-up query (numba compiles on first use)."""
    system.search(queries[0:1], k, threads)
    out = np.empty(len(queries))
    for i in range(len(queries)):
        one = queries[i : i + 1]  # slicing is not search time
        start = time.perf_counter()
        system.search(one, k, threads)
        out[i] = time.perf_counter() - start
    return out


def run_system(
    system: RetrievalSystem,
    dataset: BeirDataset,
    *,
    k: int = 1000,
    threads: int | None = None,
    measures: Sequence[str] = DEFAULT_MEASURES,
    ignore_identical_ids: bool = False,
    latency: bool = True,
    latency_threads: int | None = 1,
    search_repeats: int = 3,
    output_dir: str | Path | None = None,
    keep_index: bool = False,
    show_progress: bool | None = None,
    quiet: bool = False,
) -> EvalReport:
    """Evaluate ``system`` on ``dataset`` and return (and optionally save) the report.

    Phases are timed separately with ``time.perf_counter``: corpus encoding,
    index build, query encoding, batch search (after a one-query warm-up; the
    median of ``search_repeats`` runs) and,
    if ``latency``, each query alone on ``latency_threads`` threads.

    Args:
        system: the retriever (LACONIC, BM25, dense, ...).
        dataset: a loaded BEIR split.
        k: retrieved list depth (capped at the corpus size).
        threads: threads for the batch search (None: the system's default).
        measures: ir-measures names; nDCG@10 first is the primary metric.
        ignore_identical_ids: drop hits whose doc id equals the query id (ArguAna).
        latency: also time every query on its own.
        latency_threads: threads for the single-query timings.
        search_repeats: batch searches to time (their median is reported).
        output_dir: where ``run.trec`` and ``report.json`` go (None: write nothing).
        keep_index: also save the index into ``output_dir/index``.
        show_progress: progress bars (None: the libraries' default).
        quiet: do not print the rich table.
    """
    k = max(1, min(int(k), len(dataset.doc_ids)))
    out_dir = Path(output_dir) if output_dir is not None else None
    corpus, t_corpus = _timed(system.encode_corpus, dataset, show_progress)
    _, t_build = _timed(system.build, corpus, dataset.doc_ids, show_progress)
    queries, t_queries = _timed(system.encode_queries, dataset.queries, dataset.query_ids, show_progress)
    system.search(queries[0:1], k, threads)  # warm-up: JIT compilation, caches
    search_times = []
    for _ in range(max(1, search_repeats)):
        (ids, scores), elapsed = _timed(system.search, queries, k, threads)
        search_times.append(elapsed)
    t_search = float(np.median(search_times))
    if len(ids) != len(dataset.query_ids):
        raise RuntimeError(f"{system.kind} returned {len(ids)} result lists for {len(dataset.query_ids)} queries")
    run = {q: dict(zip(map(str, i), map(float, s))) for q, i, s in zip(dataset.query_ids, ids, scores)}
    metrics = compute_metrics(dataset.qrels, run, measures, ignore_identical_ids=ignore_identical_ids)

    n_docs, n_q = len(dataset.doc_ids), len(dataset.query_ids)
    timings: dict[str, Any] = {
        "encode_corpus_s": t_corpus,
        "build_index_s": t_build,
        "encode_queries_s": t_queries,
        "search_s": t_search,
        "docs_per_s": n_docs / t_corpus if t_corpus > 0 else float("inf"),
        "search_queries_per_s": n_q / t_search if t_search > 0 else float("inf"),
    }
    if latency:
        lat = _latencies(system, queries, k, latency_threads) * 1000.0
        timings |= {
            "latency_ms_median": float(np.median(lat)),
            "latency_ms_p95": float(np.percentile(lat, 95)),
            "latency_ms_p99": float(np.percentile(lat, 99)),
            "latency_threads": latency_threads if latency_threads is not None else "default",
        }
    nnz = {}
    for key, encoded in (("query", queries), ("doc", corpus)):
        value = system.mean_nnz(encoded)
        if value is not None:
            nnz[f"mean_{key}"] = float(value)
    memory = system.memory(n_docs, out_dir if (keep_index and out_dir is not None) else None)
    report = EvalReport(
        model=system.name,
        system=system.kind,
        dataset=dataset.name,
        split=dataset.split,
        n_docs=n_docs,
        n_queries=n_q,
        k=k,
        mode=getattr(system, "mode", "exact"),
        metrics=metrics,
        timings=timings,
        nnz=nnz,
        memory=memory,
        config={**system.describe(), "threads": threads, "ignore_identical_ids": ignore_identical_ids},
        environment=environment(),
        run=run,
    )
    if out_dir is not None:
        ranked = {q: list(zip(map(str, i), np.asarray(s, dtype=np.float64).tolist())) for q, i, s in zip(dataset.query_ids, ids, scores)}
        report.run_path = str(write_trec_run(ranked, out_dir / RUN_FILE, tag=f"{system.kind}-{system.name}"))
        report.save(out_dir)
    if not quiet:
        from rich.console import Console

        Console(stderr=True).print(report.table())
    return report


def evaluate(
    model_or_encoder: Any,
    dataset_dir: str | Path | BeirDataset,
    split: str = "test",
    k: int = 1000,
    mode: str = "exact",
    *,
    params: Any = None,
    build_config: Any = None,
    threads: int | None = None,
    batch_size: int = 32,
    max_docs: int | None = None,
    measures: Sequence[str] = DEFAULT_MEASURES,
    ignore_identical_ids: bool = False,
    latency: bool = True,
    latency_threads: int | None = 1,
    output_dir: str | Path | None = None,
    keep_index: bool = False,
    device: str | None = None,
    dtype: Any = None,
    query_max_length: int | None = 256,
    document_max_length: int | None = 256,
    show_progress: bool | None = None,
    quiet: bool = False,
    index: Any = None,
) -> EvalReport:
    """Evaluate a LACONIC model on a BEIR dataset with our index; returns an :class:`EvalReport`.

    Args:
        model_or_encoder: a model folder / hub name, or a loaded ``SparseEncoder``.
        dataset_dir: a BEIR folder (or a loaded :class:`BeirDataset`).
        split: qrels split to evaluate.
        k: depth of the retrieved lists (1000 as in BEIR).
        mode: ``exact`` or ``approximate`` search.
        params: ``SearchParams`` for approximate search.
        build_config: ``BuildConfig`` for the index.
        threads: search threads (None: the index's default).
        batch_size: encoding batch size.
        max_docs: evaluate on a subset of this many documents (quick runs).
        measures, ignore_identical_ids, latency, latency_threads, output_dir, keep_index,
        show_progress, quiet: see :func:`run_system`.
        device, dtype: where and in what precision to load the model (path only).
        query_max_length, document_max_length: token limits when loading from a path
            (256 for both, the paper's evaluation setting).
        index: a built ``SparseIndex`` of this corpus, or the folder of a saved one
            (e.g. from ``keep_index=True``): the corpus is not encoded again, so
            search settings can be compared cheaply.

    Example:
        >>> report = evaluate("runs/laconic-1b", "../shared/data/beir/scifact")  # doctest: +SKIP
        >>> report.metrics["nDCG@10"]  # doctest: +SKIP
    """
    dataset = resolve_dataset(dataset_dir, split, max_docs)
    encoder = model_or_encoder
    if isinstance(model_or_encoder, (str, Path)):
        from laconic.encoder import SparseEncoder

        encoder = SparseEncoder.from_pretrained(
            str(model_or_encoder),
            device=device,
            dtype=dtype,
            query_max_length=query_max_length,
            document_max_length=document_max_length,
        )
    index_path = None
    if isinstance(index, (str, Path)):
        from laconic.index import SparseIndex

        index_path, index = index, SparseIndex.open(index)
    system = LaconicSystem(
        encoder,
        index=index,
        index_path=index_path,
        mode=mode,
        params=params,
        build_config=build_config,
        batch_size=batch_size,
        name=model_display_name(model_or_encoder),
    )
    return run_system(
        system,
        dataset,
        k=k,
        threads=threads,
        measures=measures,
        ignore_identical_ids=ignore_identical_ids,
        latency=latency,
        latency_threads=latency_threads,
        output_dir=output_dir,
        keep_index=keep_index,
        show_progress=show_progress,
        quiet=quiet,
    )
