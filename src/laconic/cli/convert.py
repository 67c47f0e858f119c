"""`laconic convert`: vectors between our ``.npz`` and JSON lines (Anserini JsonVectorCollection, Seismic input) or CIFF."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from laconic.cli.model_options import PROFILE, TOKENIZER, load_encoder


def convert_command(
    input: Path = typer.Option(..., "--input", "-i", help="docs.npz (export) or docs.jsonl / docs.ciff (import)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="docs.jsonl / docs.ciff (export) or docs.npz (import), written atomically."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Name terms by this model's token strings (default: term ids as text)."),
    tokenizer: Optional[str] = TOKENIZER,
    profile: Optional[str] = PROFILE,
    scale: Optional[float] = typer.Option(
        None, "--scale", help="Integer impacts: weight x scale, rounded (Anserini -impact: e.g. 100); divided back on import."),
    vocab_size: Optional[int] = typer.Option(None, "--vocab-size", help="Import without --model: the vocabulary size."),
) -> None:
    """Convert vectors: .npz -> .jsonl (Anserini / Seismic) or .ciff (PISA, Anserini, JASS), and back to .npz.

    Examples:
      laconic convert --input docs.npz --output docs.jsonl --model M --scale 100   # Anserini impact index
      laconic convert --input docs.jsonl --output docs.npz --model M --scale 100   # and back
      laconic convert --input docs.npz --output docs.ciff --scale 100              # CIFF (ciff2pisa, Anserini)
    """
    from laconic.errors import InputError
    from laconic.integrations.ciff import read_ciff, write_ciff
    from laconic.integrations.jsonvectors import read_jsonl, write_jsonl
    from laconic.sparse import SparseVectors

    terms = None
    if model is not None:
        encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device="cpu")
        terms = [str(t) for t in encoder.tokenizer.convert_ids_to_tokens(list(range(int(encoder.vocab_size))))]
    if input.suffix == ".npz" and output.suffix == ".jsonl":
        vectors = SparseVectors.load(input)
        write_jsonl(vectors, output, terms=terms, scale=scale)
    elif input.suffix == ".npz" and output.suffix == ".ciff":
        if scale is None:
            raise InputError("CIFF stores integer impacts: give --scale (e.g. 100)", field="scale")
        vectors = SparseVectors.load(input)
        write_ciff(vectors, output, scale=scale, terms=terms)
    elif input.suffix in (".jsonl", ".ciff") and output.suffix == ".npz":
        size = len(terms) if terms is not None else vocab_size
        if size is None:
            raise InputError("importing needs --model (token strings) or --vocab-size (term ids)", field="vocab_size")
        if input.suffix == ".jsonl":
            vectors = read_jsonl(input, vocab_size=size, terms=terms, scale=scale)
        else:
            vectors = read_ciff(input, vocab_size=size, terms=terms, scale=scale)
        vectors.save(output)
    else:
        raise InputError("convert .npz -> .jsonl / .ciff, or .jsonl / .ciff -> .npz", path=input)
    typer.echo(f"wrote {len(vectors)} vectors to {output}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``laconic convert``."""
    app.command("convert", help="Vectors to/from JSON lines (Anserini, Seismic) and CIFF (PISA, Anserini).")(
        convert_command)
