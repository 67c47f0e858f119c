"""The options every model-loading subcommand shares, and the one function that loads with them.

``--model``, ``--tokenizer`` and ``--profile`` mean the same in ``encode``,
``index``, ``search``, ``eval``, ``mine`` and ``serve``; they are declared here
once so no subcommand can drift from the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


TOKENIZER = typer.Option(
    None, "--tokenizer",
    help="Tokenizer folder or Hub id, for checkpoints that ship none (default: the model's own, else its base's).",
)
BACKEND = typer.Option("torch", "--backend", help="Where encoding runs: torch, onnx or openvino (see laconic export).")
INT8 = typer.Option(False, "--int8", help="int8 weights (torch dynamic quantisation; ONNX Runtime's int8 graph, also run by OpenVINO).")
PROFILE = typer.Option(
    None, "--profile",
    help="Encoding profile: 'laconic', 'splade', or a JSON file of profile fields (default: saved with the model).",
)


def parse_profile(value: str | None) -> Any:
    """``--profile``: a preset name, or a JSON file holding some or all profile fields."""
    if value is None:
        return None
    path = Path(value)
    if not path.suffix == ".json":
        return value
    from laconic.encoder.loading import read_json_object

    return read_json_object(path)


def load_encoder(model: str, *, tokenizer: str | None = None, profile: str | None = None, **kwargs: Any) -> Any:
    """``SparseEncoder.from_pretrained`` with the shared CLI options applied.

    A folder written by ``laconic bm25`` loads as a :class:`BM25Encoder` instead, so the
    BM25 floor runs through every command that takes ``--model``.
    """
    from laconic.encoder.lexical import BM25Encoder

    if BM25Encoder.is_saved(model):
        if kwargs.get("backend", "torch") != "torch" or kwargs.get("int8") or tokenizer or profile:
            from laconic.errors import ConfigError

            raise ConfigError(f"{model} is a BM25 encoder: --backend, --int8, --tokenizer and --profile do not apply")
        return BM25Encoder.load(model)
    from laconic.encoder import SparseEncoder

    return SparseEncoder.from_pretrained(model, tokenizer=tokenizer, profile=parse_profile(profile), **kwargs)
