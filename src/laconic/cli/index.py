"""`laconic index build | info`: build an index from vectors or a corpus, inspect one."""

from __future__ import annotations

import glob
import json
import time
from pathlib import Path

import typer

from laconic.cli.model_options import PROFILE, TOKENIZER, load_encoder
from laconic.errors import InputError

index_app = typer.Typer(help="Build and inspect inverted indexes.", no_args_is_help=True)


def expand_vector_files(patterns: list[str]) -> list[Path]:
    """Files named by ``patterns`` (globs expanded, sorted so shard files come in order)."""
    files: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError("no vectors file matches this pattern", path=pattern)
        files.extend(Path(m) for m in matches)
    return files


@index_app.command("build")
def build_command(
    more: list[str] = typer.Argument(None, help="More vectors files (after --vectors FILE)."),
    vectors: list[str] = typer.Option(None, "--vectors", "-v", help="Document vectors .npz (file or glob; repeatable)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Encoder to embed --corpus with."),
    tokenizer: str | None = TOKENIZER,
    profile: str | None = PROFILE,
    corpus: Path | None = typer.Option(None, "--corpus", "-c", help="BEIR corpus.jsonl (with --model)."),
    output: Path = typer.Option(..., "--output", "-o", help="Index directory to write (atomically)."),
    bits: int = typer.Option(8, "--bits", help="Weight precision: 8, 16 or 32."),
    block_size: int = typer.Option(64, "--block-size", help="Documents per block (1-128)."),
    reorder: str = typer.Option("seeds", "--reorder", help="Document clustering: seeds | bp (bisection: smaller, faster index, slower build) | terms | none."),
    shards: int = typer.Option(1, "--shards", min=1, help="Split into at least this many segments (parallel single queries)."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Encoding batch size (with --model)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Build threads (default: all cores)."),
    storage: str = typer.Option("blocks", "--storage", help="blocks (fastest search) | compact (~63% of the bytes on disk and in memory, searched in place, slower)."),
    device: str | None = typer.Option(None, "--device", help="Encoding device (with --model)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Progress bars (default: on a terminal)."),
) -> None:
    """Build an index from pre-encoded vectors, or encode a corpus with a model first."""
    from laconic.index import BuildConfig, SparseIndex

    files = list(vectors or []) + list(more or [])
    if bool(files) == bool(model or corpus):
        raise InputError("give either --vectors FILE... or --model M --corpus corpus.jsonl")
    config = BuildConfig(block_size=block_size, weight_bits=bits, reorder=reorder, shards=shards, storage=storage)
    started = time.perf_counter()
    if files:
        # shard by shard: each file is laid out and written before the next is read
        index = SparseIndex.build_from_files(
            expand_vector_files(files), output, config=config, show_progress=progress, workers=threads
        )
    else:
        if not (model and corpus):
            raise InputError("--model and --corpus go together")
        from laconic.encoder import read_items

        items = read_items(corpus, "documents")
        encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device=device)
        docs = encoder.encode_documents(items.records, batch_size=batch_size, show_progress=progress, ids=items.ids)
        try:
            index = SparseIndex.build(docs, config=config, show_progress=progress, workers=threads)
        except ValueError as exc:
            raise InputError(str(exc), path=corpus) from exc
        index.save(output)
    st = index.stats()
    typer.echo(
        f"indexed {st['documents']} documents ({st['postings']} postings, {st['segments']} segments) "
        f"in {time.perf_counter() - started:.1f}s: {output} ({st['total_bytes'] / 2**20:.1f} MiB, "
        f"{st['bytes_per_doc']:.0f} B/doc)"
    )


@index_app.command("info")
def info_command(
    path: Path = typer.Argument(..., help="Index directory."),
    verify: bool = typer.Option(False, "--verify", help="Recompute every file's checksum."),
    as_json: bool = typer.Option(False, "--json", help="Print the stats as JSON."),
) -> None:
    """Show an index's counts, configuration and size per component."""
    from laconic.index import SparseIndex

    index = SparseIndex.open(path, verify=verify, warm_up=False)
    st = index.stats()
    if as_json:
        typer.echo(json.dumps(st, indent=1))
    else:
        typer.echo(f"{path}: {st['documents']} documents ({st['deleted']} deleted), {st['segments']} segments")
        typer.echo(f"postings {st['postings']}, term-block pairs {st['term_block_pairs']}, blocks {st['blocks']}")
        typer.echo(f"config {json.dumps(st['config'])}")
        typer.echo(f"size {st['total_bytes'] / 2**20:.2f} MiB in memory ({st['bytes_per_doc']:.1f} B/doc), "
                   f"{_disk_bytes(path) / 2**20:.2f} MiB on disk ({st['config']['storage']} storage)")
        for name, size in st["bytes"].items():
            typer.echo(f"  {name:<12} {size / 2**20:10.2f} MiB")
    if verify:
        typer.echo("checksums: OK")


@index_app.command("repack")
def repack_command(
    path: Path = typer.Argument(..., help="Index directory."),
    storage: str = typer.Option(..., "--storage", help="Layout to store it in: blocks | compact."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of replacing PATH (atomically)."),
) -> None:
    """Store an index's segments in another layout; its documents and search results stay the same."""
    from laconic.index import BuildConfig, SparseIndex

    BuildConfig(storage=storage)  # a clear error for an unknown layout, before anything is read
    target = output or path
    before = _disk_bytes(path)
    SparseIndex.open(path, warm_up=False).save(target, storage=storage)
    typer.echo(f"{target}: {storage}, {before / 2**20:.1f} MiB -> {_disk_bytes(target) / 2**20:.1f} MiB on disk")


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def register(app: typer.Typer) -> None:
    """Add ``laconic index`` to the CLI."""
    app.add_typer(index_app, name="index")
