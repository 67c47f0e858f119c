"""``laconic encode``: texts (BEIR JSONL or plain text) to a ``SparseVectors`` ``.npz``.

Sharding (``--shard i/n``) splits the items into ``n`` contiguous ranges in file
order (shard ``i`` gets items ``[i*N//n, (i+1)*N//n)``) and writes
``<stem>.shard-<i>-of-<n>.npz`` beside ``--output`` (``i`` zero-padded to the
width of ``n`` so a glob lists shards in order). Concatenating the shards in
order (``SparseVectors.concat``, or ``laconic index build --vectors 'out.shard-*'``)
gives exactly the single-process output.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from laconic.cli.model_options import BACKEND, INT8, PROFILE, TOKENIZER, load_encoder
from laconic.errors import InputError


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """``"i/n"`` to ``(i, n)`` with ``0 <= i < n``."""
    if spec is None:
        return None
    try:
        i_str, n_str = spec.split("/")
        i, n = int(i_str), int(n_str)
    except ValueError:
        raise InputError(f"--shard must look like i/n (e.g. 0/4), got {spec!r}") from None
    if n < 1 or not 0 <= i < n:
        raise InputError(f"--shard {spec}: need 0 <= i < n")
    return i, n


def shard_range(total: int, i: int, n: int) -> tuple[int, int]:
    """Contiguous ``[lo, hi)`` of shard ``i`` of ``n`` over ``total`` items."""
    return i * total // n, (i + 1) * total // n


def shard_path(output: Path, i: int, n: int) -> Path:
    """``out.npz`` -> ``out.shard-<i>-of-<n>.npz``."""
    width = len(str(n))
    return output.with_name(f"{output.stem}.shard-{i:0{width}d}-of-{n}.npz")


def encode_command(
    model: str = typer.Option(..., "--model", "-m", help="Encoder: a local directory or a Hugging Face Hub id."),
    input: Path | None = typer.Option(None, "--input", "-i", help="BEIR corpus/queries JSONL, or plain text (one item per line)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Where to write the vectors (.npz)."),
    tokenizer: str | None = TOKENIZER,
    profile: str | None = PROFILE,
    backend: str = BACKEND,
    int8: bool = INT8,
    print_profile: bool = typer.Option(False, "--print-profile", help="Print the encoding profile in force (JSON) and exit."),
    kind: str = typer.Option("documents", "--kind", "-k", help="documents | queries."),
    format: str = typer.Option("auto", "--format", help="auto | beir | text (auto: beir for .jsonl/.json)."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Texts per forward pass."),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=1, help="Pack batches by this many padded tokens instead of --batch-size texts."),
    max_length: int | None = typer.Option(None, "--max-length", min=1, help="Token budget per text (default 256)."),
    max_terms: int | None = typer.Option(None, "--max-terms", min=0, help="Top-k terms per vector (0 = all; default: the model's, 512)."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32 | bfloat16 | float16 (default: the profile's on GPU, fp32 on CPU)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: torch's)."),
    shard: str | None = typer.Option(None, "--shard", help="i/n: encode only the i-th of n contiguous parts."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."),
) -> None:
    """Encode documents or queries into sparse vectors."""
    from laconic.encoder.inputs import read_items

    kwargs = {"backend": backend, "int8": int8}
    if max_terms is not None:
        kwargs["max_terms"] = max_terms
    if print_profile:
        encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device=device, dtype=dtype, **kwargs)
        if encoder.profile is None:
            raise InputError(f"{model} is a BM25 encoder: it has no encoding profile")
        typer.echo(json.dumps(encoder.profile.to_dict(), indent=2))
        return
    if input is None or output is None:
        raise InputError("--input and --output are required (unless --print-profile)")
    if kind not in ("documents", "queries"):
        raise InputError(f"--kind must be 'documents' or 'queries', got {kind!r}")
    part = parse_shard(shard)
    items = read_items(input, kind, format)  # validates the whole file before any work
    ids, texts = items.ids, items.records
    target = output
    if part is not None:
        lo, hi = shard_range(len(ids), *part)
        ids, texts = ids[lo:hi], texts[lo:hi]
        target = shard_path(output, *part)

    started = time.perf_counter()
    encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device=device, dtype=dtype, **kwargs)
    side = "query" if kind == "queries" else "document"
    vectors = encoder.encode(
        texts, side, batch_size=batch_size, show_progress=progress, ids=ids, max_length=max_length, threads=threads,
        max_tokens=max_tokens,
    )
    vectors.save(target)
    took = time.perf_counter() - started
    mean = vectors.nnz / max(len(vectors), 1)
    typer.echo(f"wrote {len(vectors)} {kind} ({mean:.1f} terms each) to {target} in {took:.1f}s", err=True)


def register(app: typer.Typer) -> None:
    """Add ``laconic encode`` to the CLI."""
    app.command("encode", help="Encode documents or queries into sparse vectors (.npz).")(encode_command)
