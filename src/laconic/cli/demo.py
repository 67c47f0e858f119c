"""`laconic demo`: index a real corpus with the shipped model, search, explain, compare with BM25.

Heavy imports (torch, transformers) happen inside the command so ``laconic --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from laconic.errors import InputError

_NO_DATA = """laconic demo: no dataset found.
It looks for ../shared/data/beir/scifact next to the repository. Point it at data with
  laconic demo --dataset DIR        (a BEIR directory: corpus.jsonl, queries.jsonl, qrels/test.tsv)
  laconic demo --dataset FILE.jsonl (a corpus, one {"_id", "title", "text"} per line) --query "your question"
BEIR datasets: https://github.com/beir-cellar/beir (e.g. scifact.zip, unpacked)."""


def demo(
    dataset: Optional[Path] = typer.Option(None, "--dataset", "-d", help="BEIR directory or corpus JSONL (default: ../shared/data/beir/scifact)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Encoder directory (default: the shipped models/laconic-minilm)."),
    split: str = typer.Option("test", help="Qrels split whose queries are shown and scored."),
    num_queries: int = typer.Option(3, "--num-queries", "-n", min=0, help="Dataset queries to print with results."),
    query: list[str] = typer.Option([], "--query", "-q", help="Extra free-text query (repeatable)."),
    top_k: int = typer.Option(5, "--top-k", "-k", min=1, help="Results printed per query."),
    evaluate: bool = typer.Option(True, "--eval/--no-eval", help="Score all split queries (nDCG@10) against BM25."),
    max_docs: int = typer.Option(
        1000, min=0, help="Index the first N documents plus every judged one (0: all; all of SciFact takes ~30 min on 2 cores)."
    ),
    batch_size: int = typer.Option(32, min=1, help="Encoding batch size."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse the index of an earlier run (~/.cache/laconic/demo)."),
) -> None:
    """Index a real corpus offline with the default model, run a few queries and explain the matches.

    Without data it prints where to get some and exits 0 (nothing is wrong with the install).
    """
    from laconic.demo import DemoConfig, default_dataset, default_model, run_demo

    dataset = dataset if dataset is not None else default_dataset()
    if dataset is None:
        typer.echo(_NO_DATA)
        raise typer.Exit(0)
    model = model if model is not None else default_model()
    if model is None:
        raise InputError("no model given and models/laconic-minilm is missing; run `make model` or pass --model DIR")
    if not Path(model).is_dir():
        raise InputError("model directory not found", path=model)
    run_demo(
        DemoConfig(
            dataset=Path(dataset), model=Path(model), split=split, num_queries=num_queries, queries=list(query),
            top_k=top_k, evaluate=evaluate, max_docs=max_docs, batch_size=batch_size, cache=cache,
        ),
        out=typer.echo,
    )


def register(app: typer.Typer) -> None:
    """Add ``laconic demo`` to the CLI."""
    app.command("demo")(demo)
