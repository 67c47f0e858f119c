"""`laconic serve`: the HTTP search service (FastAPI + uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from laconic.cli.model_options import BACKEND, INT8, PROFILE, TOKENIZER


def serve(
    index: Path = typer.Option(..., "--index", help="Index directory (opened memory-mapped)."),
    model: Optional[str] = typer.Option(
        None, "--model", help="Encoder name or path; omit to accept only sparse vectors."
    ),
    tokenizer: Optional[str] = TOKENIZER,
    profile: Optional[str] = PROFILE,
    backend: str = BACKEND,
    int8: bool = INT8,
    corpus: Optional[Path] = typer.Option(
        None, "--corpus", help="BEIR corpus.jsonl of the indexed documents: titles, snippets and highlights on the page at /."
    ),
    host: str = typer.Option("127.0.0.1", help="Bind address (loopback by default)."),
    port: int = typer.Option(8080, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes (each loads the encoder; the index is shared)."),
    encode_threads: Optional[int] = typer.Option(None, help="Torch threads for encoding."),
    search_threads: Optional[int] = typer.Option(None, help="Threads per search call."),
    search_concurrency: int = typer.Option(4, help="Search calls running at once."),
    alpha: float = typer.Option(0.95, help="Approximate requests: bound factor in (0, 1]."),
    query_cut: int = typer.Option(
        0, help="Approximate requests: gather candidates with this many heaviest query terms, rescore with all (48-64 for LACONIC)."
    ),
    candidates: int = typer.Option(0, help="Approximate requests with --query-cut: documents rescored (0: 10 x k)."),
    batch_window_ms: float = typer.Option(2.0, help="How long an encode request waits to batch with others."),
    max_batch: int = typer.Option(32, help="Texts per encoder forward pass."),
    query_cache: int = typer.Option(10_000, help="Query vectors kept in an LRU cache (0: off): a repeated query skips the encoder."),
    admin_token: Optional[str] = typer.Option(
        None, envvar="LACONIC_ADMIN_TOKEN", help="Require this bearer token for POST /admin/reload."
    ),
    device: Optional[str] = typer.Option(None, help="Torch device for the encoder (cpu, cuda, ...)."),
) -> None:
    """Serve the search page at /, and POST /search, POST /encode, GET /health, GET /stats, POST /admin/reload (OpenAPI at /docs)."""
    from laconic.serving.config import ServeConfig
    from laconic.serving.launch import serve as run

    config = ServeConfig(
        index=str(index),
        model=model,
        tokenizer=tokenizer,
        profile=profile,
        backend=backend,
        int8=int8,
        corpus=None if corpus is None else str(corpus),
        host=host,
        port=port,
        workers=workers,
        encode_threads=encode_threads,
        search_threads=search_threads,
        search_concurrency=search_concurrency,
        alpha=alpha,
        query_cut=query_cut,
        candidates=candidates,
        batch_window_ms=batch_window_ms,
        max_batch=max_batch,
        query_cache=query_cache,
        admin_token=admin_token,
        device=device,
    )
    run(config)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""
    app.command("serve")(serve)
