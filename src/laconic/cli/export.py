"""``laconic export``: a model folder with an ONNX or OpenVINO graph beside its torch weights.

The folder loads again with ``SparseEncoder.from_pretrained(DIR, backend=..., int8=...)``
or ``--backend`` on ``encode`` / ``search`` / ``serve``; every backend uses the same
encoding profile, tokenizer and top-k.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import typer

from laconic.cli.model_options import PROFILE, TOKENIZER, load_encoder


def export_command(
    model: str = typer.Option(..., "--model", "-m", help="Encoder to export: a local folder or a Hub id."),
    backend: str = typer.Option(..., "--backend", help="onnx | openvino."),
    output: Path = typer.Option(..., "--output", "-o", help="Model folder to write (torch weights, tokenizer, graph)."),
    int8: bool = typer.Option(False, "--int8", help="Also write the int8 graph (model_qint8)."),
    calibration: Path | None = typer.Option(
        None, "--calibration",
        help="With --int8: corpus.jsonl or text file of typical texts (a few hundred); SmoothQuant before int8."),
    alpha: float = typer.Option(0.75, "--smooth-alpha", min=0.0, max=1.0, help="SmoothQuant strength (with --calibration)."),
    int8_block: int | None = typer.Option(
        None, "--int8-block",
        help="With --int8: input channels per int8 scale (a power of two >= 16; default 32); 0 = one scale per "
             "output channel and per activation tensor (faster, less exact; docs/BENCHMARKS.md)."),
    tokenizer: str | None = TOKENIZER,
    profile: str | None = PROFILE,
) -> None:
    """Export an encoder for ONNX Runtime or OpenVINO (fp32, and int8 with --int8)."""
    from laconic.encoder import backends
    from laconic.storage import atomic_directory

    backends.check_backend(backend)
    if backend == "torch":
        from laconic.errors import InputError

        raise InputError("--backend must be onnx or openvino (torch needs no export)", field="backend")
    texts = None
    if calibration is not None:
        from laconic.encoder import read_items
        from laconic.errors import InputError

        if not int8:
            raise InputError("--calibration only applies with --int8", field="calibration")
        texts = read_items(calibration, "documents").records[:500]
    if int8_block is not None and not int8:
        from laconic.errors import InputError

        raise InputError("--int8-block only applies with --int8", field="int8-block")
    int8_block = backends.INT8_BLOCK if int8_block is None else int8_block
    backends.check_int8_block(int8_block)
    started = time.perf_counter()
    encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device="cpu", dtype="float32")
    encoder.save_pretrained(output)
    sub = backends.graph_file(backend, False).split("/")[0]
    staging = Path(tempfile.mkdtemp(prefix="laconic-export-"))
    try:
        backends.export(encoder, staging, backend, int8=int8, calibration=texts, alpha=alpha, int8_block=int8_block)
        with atomic_directory(output / sub) as tmp:
            for f in (staging / sub).iterdir():
                shutil.move(str(f), tmp / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sorted(p.name for p in (output / sub).iterdir())
    typer.echo(f"wrote {output} ({backend}: {', '.join(files)}) in {time.perf_counter() - started:.1f}s", err=True)


def register(app: typer.Typer) -> None:
    """Add ``laconic export`` to the CLI."""
    app.command("export", help="Export an encoder to ONNX or OpenVINO (optionally int8).")(export_command)
