"""`laconic search`: query an index with text (through a model) or pre-encoded vectors."""

from __future__ import annotations

from pathlib import Path

import typer

from laconic.cli.model_options import BACKEND, INT8, PROFILE, TOKENIZER, load_encoder
from laconic.errors import InputError


def trec_lines(query_ids: list[str], results, tag: str) -> list[str]:
    """TREC run lines ``qid Q0 docid rank score tag`` (rank from 1)."""
    lines = []
    for qid, ids, scores in zip(query_ids, results.ids, results.scores):
        for rank, (doc, score) in enumerate(zip(ids, scores.tolist()), start=1):
            lines.append(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}")
    return lines


def search_command(
    index_dir: Path = typer.Option(..., "--index", "-i", help="Index directory."),
    model: str | None = typer.Option(None, "--model", "-m", help="Encoder for --query / --queries."),
    tokenizer: str | None = TOKENIZER,
    profile: str | None = PROFILE,
    backend: str = BACKEND,
    int8: bool = INT8,
    query: str | None = typer.Option(None, "--query", "-q", help="One query text (prints hits and matched terms)."),
    queries: Path | None = typer.Option(None, "--queries", help="BEIR queries.jsonl (or text, one per line)."),
    vectors: Path | None = typer.Option(None, "--vectors", help="Pre-encoded query vectors (.npz)."),
    k: int = typer.Option(10, "--k", "-k", min=1, help="Hits per query."),
    mode: str = typer.Option("exact", "--mode", help="exact | approximate."),
    alpha: float | None = typer.Option(None, "--alpha", help="Approximate: bound factor in (0, 1]."),
    query_cut: int | None = typer.Option(
        None, "--query-cut", help="Approximate: gather candidates with this many heaviest query terms, rescore with all."
    ),
    candidates: int | None = typer.Option(None, "--candidates", help="Approximate with --query-cut: documents rescored (default 10 x k)."),
    max_blocks: int | None = typer.Option(None, "--max-blocks", help="Approximate: blocks scored per segment."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (default: all)."),
    run: Path | None = typer.Option(None, "--run", help="Write a TREC run file here (atomically)."),
    tag: str = typer.Option("laconic", "--tag", help="Run tag (last TREC column)."),
    device: str | None = typer.Option(None, "--device", help="Encoding device."),
) -> None:
    """Search an index; one --query prints ranked hits with the query terms that matched."""
    from dataclasses import replace

    from laconic.index import SearchParams, SparseIndex

    if sum(x is not None for x in (query, queries, vectors)) != 1:
        raise InputError("give exactly one of --query TEXT, --queries FILE or --vectors FILE.npz")
    if mode not in ("exact", "approximate"):
        raise InputError(f"--mode must be 'exact' or 'approximate', got {mode!r}")
    if vectors is None and model is None:
        raise InputError("--query and --queries need --model to encode them")
    params = SearchParams()
    knobs = (("alpha", alpha), ("query_cut", query_cut), ("candidates", candidates), ("max_blocks", max_blocks))
    overrides = {n: v for n, v in knobs if v is not None}
    params = replace(params, **overrides)
    index = SparseIndex.open(index_dir)
    encoder = None
    if vectors is not None:
        from laconic.sparse import SparseVectors

        qv = SparseVectors.load(vectors)
        qids = qv.ids if qv.ids is not None else [str(i) for i in range(len(qv))]
    else:
        from laconic.encoder import read_items

        encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device=device, backend=backend, int8=int8)
        if query is not None:
            qids, texts = ["query"], [query]
        else:
            items = read_items(queries, "queries")
            qids, texts = items.ids, items.records
        qv = encoder.encode_queries(texts, ids=qids)
    if qv.vocab_size != index.vocab_size:
        raise InputError(f"query vocab_size {qv.vocab_size} != index vocab_size {index.vocab_size}", path=vectors)
    results = index.search(qv, k=k, mode=mode, params=params, threads=threads)
    if query is not None:
        _print_hits(index, qv, results, encoder)
        return
    lines = trec_lines(qids, results, tag)
    if run is None:
        typer.echo("\n".join(lines))
        return
    from laconic.storage import atomic_write_text

    atomic_write_text(run, "\n".join(lines) + ("\n" if lines else ""))
    typer.echo(f"wrote {len(lines)} lines for {len(qids)} queries to {run}")


def _print_hits(index, qv, results, encoder) -> None:
    ids, scores = results.ids[0], results.scores[0]
    if not ids:
        typer.echo("no document matches the query")
        return
    explained = index.explain(qv, ids)
    for rank, (doc, score, terms) in enumerate(zip(ids, scores.tolist(), explained), start=1):
        top = terms[:8]
        names = encoder.tokenizer.convert_ids_to_tokens([t for t, _ in top]) if encoder else [str(t) for t, _ in top]
        matched = "  ".join(f"{n}:{c:.2f}" for n, (_, c) in zip(names, top))
        typer.echo(f"{rank:>3}  {doc}  {score:.4f}  {matched}")


def register(app: typer.Typer) -> None:
    """Add ``laconic search`` to the CLI."""
    app.command("search")(search_command)
