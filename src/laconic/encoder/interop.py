"""Sentence Transformers interop: our saved encoders open as ``sentence_transformers.SparseEncoder``.

Writing: next to the Hugging Face weights we put the few JSON files Sentence
Transformers 5/6 reads (``modules.json``, ``sentence_bert_config.json``,
``config_sentence_transformers.json``, ``1_SpladePooling/config.json``): a
``Transformer`` module followed by ``SpladePooling(max, relu)``, with
``max_active_dims`` = our ``max_terms``.

For a causal backbone the Transformer module uses ``transformer_task="text-generation"``
with its ``logits`` routed to ``token_embeddings`` and ``logits_to_keep=0`` (all
positions; Sentence Transformers would keep only the last one by default). It
left-pads causal inputs; with rotary positions and a bidirectional padding mask
that gives the same vectors as our right padding (attention scores depend only
on relative positions). ``config.json`` carries ``is_causal: false``, which
transformers >= 5.2 honours on load, so bidirectional attention survives.

The encoding profile travels too: its prefixes become the ``query`` /
``document`` prompts, its special-token choice the Transformer module's
``processing_kwargs`` (``add_special_tokens``), its truncation length the
``max_seq_length``. Titles are the caller's: Sentence Transformers takes strings.

Reading: a Sentence Transformers sparse model directory (SPLADE-style: an MLM
Transformer + SpladePooling) gives the transformer's path, its max length,
``max_active_dims`` and its query/document prompts; we refuse pooling we do not
implement (``sum``, ``log1p_relu``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laconic.encoder.profile import EncodingProfile
from laconic.errors import ConfigError, InputError

_TRANSFORMER_TYPES = ("Transformer", "MLMTransformer")


@dataclass
class STModelInfo:
    """What we need from a Sentence Transformers model directory."""

    transformer_path: Path
    max_seq_length: int | None
    max_active_dims: int | None
    sparse: bool
    prefixes: dict[str, str]  # profile fields from the prompts: query_prefix / passage_prefix


def is_st_directory(path: Path) -> bool:
    return (path / "modules.json").is_file()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable JSON ({exc})", path=path) from exc


def read_st_directory(path: Path) -> STModelInfo:
    """Parse ``modules.json`` and the module configs of a Sentence Transformers model."""
    modules = _read_json(path / "modules.json")
    if not isinstance(modules, list) or not modules:
        raise InputError("expected a non-empty list of modules", path=path / "modules.json")
    transformer = next((m for m in modules if str(m.get("type", "")).rsplit(".", 1)[-1] in _TRANSFORMER_TYPES), None)
    if transformer is None:
        raise InputError("no Transformer module", path=path / "modules.json")
    tpath = path / str(transformer.get("path", ""))
    bert_cfg = tpath / "sentence_bert_config.json"
    max_len = _read_json(bert_cfg).get("max_seq_length") if bert_cfg.is_file() else None
    sparse = False
    for m in modules:
        if str(m.get("type", "")).rsplit(".", 1)[-1] == "SpladePooling":
            sparse = True
            cfg_file = path / str(m.get("path", "")) / "config.json"
            cfg = _read_json(cfg_file) if cfg_file.is_file() else {}
            strategy = cfg.get("pooling_strategy", "max")
            activation = cfg.get("activation_function", "relu")
            if strategy != "max" or activation != "relu":
                raise ConfigError(
                    f"{path}: SpladePooling({strategy}, {activation}) is not supported; laconic pools with max + relu"
                )
    st_cfg = path / "config_sentence_transformers.json"
    st = _read_json(st_cfg) if st_cfg.is_file() else {}
    prompts = st.get("prompts") if isinstance(st.get("prompts"), dict) else {}
    prefixes = {
        field: prompts[name]
        for field, name in (("query_prefix", "query"), ("passage_prefix", "document"))
        if isinstance(prompts.get(name), str)
    }
    return STModelInfo(tpath, max_len, st.get("max_active_dims"), sparse, prefixes)


def write_st_files(directory: Path, *, backbone: str, vocab_size: int, profile: EncodingProfile) -> None:
    """Write the Sentence Transformers module files into a directory holding HF weights at its root."""
    import sentence_transformers
    import torch
    import transformers

    if backbone == "causal":
        transformer_cfg: dict[str, Any] = {
            "transformer_task": "text-generation",
            "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
            "module_output_name": "token_embeddings",
            "processing_kwargs": {"text": {"logits_to_keep": 0}},
        }
    else:
        transformer_cfg = {
            "transformer_task": "fill-mask",
            "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
            "module_output_name": "token_embeddings",
        }
    if not profile.add_special_tokens:
        text_kwargs = transformer_cfg.setdefault("processing_kwargs", {}).setdefault("text", {})
        text_kwargs["add_special_tokens"] = False
    # One length for both sides (ST has one); the tokens actually kept, as we truncate.
    transformer_cfg["max_seq_length"] = max(profile.truncation_length("query"), profile.truncation_length("document"))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_SpladePooling",
            "type": "sentence_transformers.sparse_encoder.modules.splade_pooling.SpladePooling",
        },
    ]
    st_config = {
        "__version__": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "pytorch": torch.__version__,
        },
        "model_type": "SparseEncoder",
        "prompts": {"query": profile.query_prefix, "document": profile.passage_prefix},
        "default_prompt_name": None,
        "similarity_fn_name": "dot",
        "max_active_dims": profile.top_k,
    }
    pooling = {"pooling_strategy": "max", "activation_function": "relu", "embedding_dimension": int(vocab_size)}
    files = {
        "modules.json": modules,
        "sentence_bert_config.json": transformer_cfg,
        "config_sentence_transformers.json": st_config,
        "1_SpladePooling/config.json": pooling,
    }
    for name, content in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
