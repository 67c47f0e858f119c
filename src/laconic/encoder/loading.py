"""Resolve what ``SparseEncoder.from_pretrained`` was pointed at and load it.

Accepted sources, checked in this order:

1. a PEFT/LoRA adapter directory (``adapter_config.json``): its base
   (``base_model_name_or_path``, itself any accepted source) is loaded, then the
   adapter on top, merged into the weights unless ``merge_lora=False``;
2. a Sentence Transformers model directory (``modules.json``), e.g. a SPLADE
   model saved by Sentence Transformers, or a dense one (all-MiniLM-L6-v2) whose
   bare encoder then gets a tied vocabulary head;
3. a Hugging Face model directory or Hub id (causal LM, masked LM or bare encoder).

A ``laconic_config.json`` beside the weights (written by ``save_pretrained``)
supplies the :class:`EncoderConfig`; explicit arguments override it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from laconic.encoder import backbone as bb
from laconic.encoder.config import EncoderConfig
from laconic.encoder.interop import is_st_directory, read_st_directory
from laconic.encoder.tokenization import prepare_tokenizer
from laconic.errors import ConfigError, InputError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


@dataclass
class Loaded:
    """Everything a :class:`SparseEncoder` is built from."""

    model: nn.Module
    tokenizer: Any
    config: EncoderConfig


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` picks CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``None``/``"auto"``: bfloat16 on CUDA (as LACONIC runs), float32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[str(dtype).lower()]
    except KeyError:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of {sorted(_DTYPES)}") from None


def _load_tokenizer(*candidates: str) -> Any:
    from transformers import AutoTokenizer

    last: Exception | None = None
    for source in candidates:
        try:
            return prepare_tokenizer(AutoTokenizer.from_pretrained(source))
        except (OSError, ValueError) as exc:
            last = exc
    raise InputError(f"no tokenizer found in {list(candidates)} ({last})")


def load(
    name_or_path: str | Path,
    *,
    dtype: torch.dtype,
    head: str | None = None,
    merge_lora: bool = True,
    attn_implementation: str | None = None,
) -> Loaded:
    """Load weights, tokenizer and saved config from any accepted source (see module doc)."""
    source = str(name_or_path)
    path = Path(source)
    local = path.is_dir()
    # Hub ids are "name" or "org/name"; anything else that is not a directory is a bad local path.
    if not local and (path.exists() or source.startswith((".", "/", "~")) or source.count("/") > 1):
        raise InputError("not a model directory", path=path)

    if local and (path / "adapter_config.json").is_file():
        return _load_adapter(path, dtype=dtype, head=head, merge_lora=merge_lora, attn=attn_implementation)

    saved = EncoderConfig.load(path) if local else None
    weights_dir = source
    st_max_len = st_max_dims = None
    if local and saved is None and is_st_directory(path):
        info = read_st_directory(path)
        weights_dir = str(info.transformer_path)
        st_max_len, st_max_dims = info.max_seq_length, info.max_active_dims
        if not info.sparse and head is None:
            head = "tied"  # a dense Sentence Transformers model: bare encoder, no MLM head
    head = head or (saved.head if saved else None)
    model, kind, head = bb.load_transformer(weights_dir, head=head, dtype=dtype, attn_implementation=attn_implementation)
    config = saved or EncoderConfig()
    config = config.replace(head=head, backbone=kind)
    if saved is None and st_max_len:
        config = config.replace(query_max_length=int(st_max_len), document_max_length=int(st_max_len))
    if saved is None and st_max_dims is not None:
        config = config.replace(max_terms=int(st_max_dims))
    if saved is None and kind == "causal":
        # LACONIC's default for decoders; a config.json saying is_causal=false agrees with it.
        config = config.replace(bidirectional=True)
    tokenizer = _load_tokenizer(source, weights_dir)
    return Loaded(model, tokenizer, config)


def _load_adapter(path: Path, *, dtype: torch.dtype, head: str | None, merge_lora: bool, attn: str | None) -> Loaded:
    from peft import PeftModel

    try:
        adapter_cfg = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable adapter config ({exc})", path=path / "adapter_config.json") from exc
    base = adapter_cfg.get("base_model_name_or_path")
    if not base:
        raise InputError("missing base model", path=path / "adapter_config.json", field="base_model_name_or_path")
    base_loaded = load(base, dtype=dtype, head=head, merge_lora=True, attn_implementation=attn)
    config = EncoderConfig.load(path) or base_loaded.config
    if config.backbone == "causal":
        # Attention must already be bidirectional when the adapter runs (it was trained so).
        bb.set_bidirectional(base_loaded.model, config.bidirectional)
    model = PeftModel.from_pretrained(base_loaded.model, str(path))
    if merge_lora:
        model = model.merge_and_unload()
    has_tokenizer = any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
    tokenizer = _load_tokenizer(str(path)) if has_tokenizer else base_loaded.tokenizer
    return Loaded(model, tokenizer, config.replace(head=base_loaded.config.head, backbone=base_loaded.config.backbone))
