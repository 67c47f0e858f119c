"""Resolve what ``SparseEncoder.from_pretrained`` was pointed at and load it.

A Hub id is first turned into a local snapshot (the ordinary Hugging Face cache,
so ``HF_HUB_OFFLINE=1`` works once it is filled); from then on a Hub id and a
local folder go through the same code and read the same files. Accepted sources,
checked in this order:

1. a PEFT/LoRA adapter (``adapter_config.json``): its base
   (``base_model_name_or_path``, itself any accepted source) is loaded, then the
   adapter on top, merged into the weights unless ``merge_lora=False``;
2. a Sentence Transformers model (``modules.json``), e.g. a SPLADE model, or a
   dense one (all-MiniLM-L6-v2) whose bare encoder then gets a tied vocabulary head;
3. Hugging Face weights (causal LM, masked LM or bare encoder), optionally a GGUF
   file (``gguf_file=``), which transformers dequantises.

A ``laconic_config.json`` beside the weights (written by ``save_pretrained``)
supplies the :class:`EncoderConfig` and its encoding profile; without one the
profile follows the model family (:func:`~laconic.encoder.profile.default_profile`).

The released LACONIC checkpoints ship weights only. Their tokenizer comes, in
order, from: an explicit ``tokenizer=``; the checkpoint's own files; the base
models in :data:`KNOWN_BASES` (with an ungated mirror after the gated original);
the base named in ``config.json`` (``_name_or_path``) or in the adapter config;
else a clear error naming ``tokenizer=`` / ``--tokenizer``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from laconic.encoder import backbone as bb
from laconic.encoder.config import EncoderConfig
from laconic.encoder.interop import is_st_directory, read_st_directory
from laconic.encoder.profile import EncodingProfile, default_profile, preset
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

#: Released checkpoints that ship no tokenizer -> the bases whose tokenizer they use,
#: gated original first, then an ungated mirror holding the same files.
KNOWN_BASES: dict[str, tuple[str, ...]] = {
    "utahnlp/laconic-1b": ("meta-llama/Llama-3.2-1B", "unsloth/Llama-3.2-1B"),
    "utahnlp/laconic-3b": ("meta-llama/Llama-3.2-3B", "unsloth/Llama-3.2-3B"),
    "utahnlp/laconic-8b": ("meta-llama/Llama-3.1-8B", "unsloth/Meta-Llama-3.1-8B"),
}

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.txt")
_TOKENIZER_PATTERNS = ["tokenizer*", "special_tokens_map.json", "vocab*", "merges.txt", "*.model", "chat_template*"]
# Small files read before any weights: configs, tokenizers, adapters, ST modules.
_META_PATTERNS = ["*.json", "*.txt", "*.model", "*.jinja", "*.py"]
# Never needed for a PyTorch encoder, often large (Meta's consolidated weights, exports).
_SKIP_PATTERNS = ["original/*", "onnx/*", "openvino/*", "*.onnx", "*.h5", "*.msgpack", "*.ot", "*.gguf"]
_HUB_CACHE_DIR = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/[^/]+$")


@dataclass
class Loaded:
    """Everything a :class:`SparseEncoder` is built from (``model`` is None when weights were skipped)."""

    model: nn.Module | None
    tokenizer: Any
    config: EncoderConfig
    path: Path | None = None  # the local folder (a Hub id's snapshot): where exported graphs live


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` picks CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device, cuda_dtype: str = "bfloat16") -> torch.dtype:
    """``None``/``"auto"``: the profile's ``cuda_dtype`` on CUDA, float32 elsewhere."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        return _DTYPES[cuda_dtype] if device.type == "cuda" else torch.float32
    try:
        return _DTYPES[str(dtype).lower()]
    except KeyError:
        raise ConfigError(f"unknown dtype {dtype!r}; use one of {sorted(_DTYPES)}") from None


# ------------------------------------------------------------------- sources
def is_hub_id(source: str) -> bool:
    """``name`` or ``org/name`` that is not an existing path."""
    return not Path(source).exists() and not source.startswith((".", "/", "~")) and source.count("/") <= 1


def hub_id_of(path: Path) -> str | None:
    """The repo id of a Hugging Face cache snapshot folder (``.../models--org--name/snapshots/sha``)."""
    match = _HUB_CACHE_DIR.search(path.resolve().as_posix())
    return f"{match['org']}/{match['name']}" if match else None


def resolve_source(source: str, *, revision: str | None = None, gguf_file: str | None = None) -> Path:
    """A local folder for ``source``: itself, or the Hub snapshot (downloaded or cached)."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    if not is_hub_id(source):
        raise InputError("not a model directory", path=path)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    def fetch(patterns: list[str]) -> Path:
        return Path(snapshot_download(source, revision=revision, allow_patterns=patterns, ignore_patterns=_SKIP_PATTERNS))

    try:
        local = fetch(_META_PATTERNS)
        if gguf_file:
            local = Path(snapshot_download(source, revision=revision, allow_patterns=[gguf_file]))
        elif not any(local.rglob("*.safetensors")) and not any(local.rglob("*.safetensors.index.json")):
            local = fetch(["*.safetensors"])
            if not any(local.rglob("*.safetensors")):
                local = fetch(["*.bin"])  # repositories that only have PyTorch pickles
    except LocalEntryNotFoundError as exc:
        raise InputError(
            f"{source!r} is not a local folder and is not in the Hugging Face cache "
            f"(offline, or the download failed: {str(exc).splitlines()[0]})"
        ) from exc
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise InputError(f"cannot fetch {source!r} from the Hugging Face Hub ({str(exc).splitlines()[0]})") from exc
    return local


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; anything else is an :class:`InputError` naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable JSON ({exc})", path=path) from exc
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path=path)
    return data


# ----------------------------------------------------------------- tokenizer
def tokenizer_candidates(source: str, local: Path, weights_dir: Path, gguf_file: str | None) -> list[str]:
    """Where a tokenizer may come from, in the order of the module docstring (override excluded)."""
    candidates: list[str] = []
    for folder in (local, weights_dir):
        if any((folder / f).is_file() for f in _TOKENIZER_FILES) or gguf_file:
            candidates.append(str(folder))
    repo = source if is_hub_id(source) else hub_id_of(local)
    if repo:
        candidates.extend(KNOWN_BASES.get(repo.lower(), ()))
    config_file = weights_dir / "config.json"
    if config_file.is_file():
        base = read_json_object(config_file).get("_name_or_path")
        if isinstance(base, str) and base and base not in (source, str(local), str(weights_dir)):
            if is_hub_id(base) or Path(base).is_dir():
                candidates.append(base)
    return list(dict.fromkeys(candidates))


def _fetch_tokenizer_files(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    if not is_hub_id(repo_id):
        raise InputError("not a tokenizer folder or Hub id", path=repo_id)
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=_TOKENIZER_PATTERNS))
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise InputError(f"not in the cache and not downloadable ({str(exc).splitlines()[0]})", path=repo_id) from exc
    if not any((folder / f).is_file() for f in _TOKENIZER_FILES):
        raise InputError("holds no tokenizer files", path=repo_id)
    return folder


def load_tokenizer(candidates: list[str], *, gguf_file: str | None = None) -> Any:
    """The first tokenizer that loads, prepared for encoding (pad, sides)."""
    from transformers import AutoTokenizer

    errors = []
    for source in candidates:
        kwargs = {"gguf_file": gguf_file} if gguf_file and Path(source).is_dir() else {}
        try:
            # A Hub id: only its tokenizer files, through the cache (no weights, no config needed).
            folder = source if Path(source).is_dir() else str(_fetch_tokenizer_files(source))
            return prepare_tokenizer(AutoTokenizer.from_pretrained(folder, **kwargs))
        except (OSError, ValueError, TypeError, KeyError, InputError) as exc:
            errors.append(f"{source}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    tried = "; ".join(errors) if errors else "the checkpoint has no tokenizer files and names no base model"
    raise InputError(
        f"no tokenizer found ({tried}). Pass one explicitly: "
        "SparseEncoder.from_pretrained(..., tokenizer='meta-llama/Llama-3.2-1B') or --tokenizer"
    )


# --------------------------------------------------------------------- model
def _resolve_profile(profile: str | EncodingProfile | Mapping[str, Any] | None, base: EncodingProfile) -> EncodingProfile:
    if profile is None:
        return base
    if isinstance(profile, EncodingProfile):
        return profile
    if isinstance(profile, str):
        return preset(profile)
    if isinstance(profile, Mapping):
        return base.replace(**dict(profile))
    raise ConfigError(f"profile must be a name, an EncodingProfile or a mapping of fields, got {type(profile).__name__}")


def load(
    name_or_path: str | Path,
    *,
    device: torch.device,
    dtype: str | torch.dtype | None = None,
    head: str | None = None,
    merge_lora: bool = True,
    attn_implementation: str | None = None,
    tokenizer: Any = None,
    profile: str | EncodingProfile | Mapping[str, Any] | None = None,
    revision: str | None = None,
    gguf_file: str | None = None,
    weights: bool = True,
) -> Loaded:
    """Load weights, tokenizer and config from any accepted source (see module doc).

    ``weights=False`` reads everything but the torch weights (an exported ONNX or
    OpenVINO graph replaces them).
    """
    source = str(name_or_path)
    local = resolve_source(source, revision=revision, gguf_file=gguf_file)
    if not weights and (local / "adapter_config.json").is_file():
        raise ConfigError(f"{source}: a LoRA adapter has no exported graph; merge it (laconic merge) and export that")
    if (local / "adapter_config.json").is_file():
        return _load_adapter(
            local, device=device, dtype=dtype, head=head, merge_lora=merge_lora, attn=attn_implementation,
            tokenizer=tokenizer, profile=profile,
        )
    saved = EncoderConfig.load(local)
    weights_dir = local
    st_overrides: dict[str, Any] = {}
    if saved is None and is_st_directory(local):
        info = read_st_directory(local)
        weights_dir = info.transformer_path
        if info.max_seq_length:
            st_overrides.update(query_max_length=int(info.max_seq_length), document_max_length=int(info.max_seq_length))
        if info.max_active_dims is not None:
            st_overrides["max_terms"] = int(info.max_active_dims)
        st_overrides.update(info.prefixes)
        if not info.sparse and head is None:
            head = "tied"  # a dense Sentence Transformers model: bare encoder, no MLM head
    head = head or (saved.head if saved else None)
    kind = bb.detect_backbone(str(weights_dir), gguf_file=gguf_file)
    base_profile = saved.profile if saved else default_profile(kind).replace(**st_overrides)
    chosen = _resolve_profile(profile, base_profile)
    torch_dtype = resolve_dtype(dtype, device, chosen.cuda_dtype)
    model = None
    if weights:
        model, kind, head = bb.load_transformer(
            str(weights_dir), head=head, dtype=torch_dtype, attn_implementation=attn_implementation, gguf_file=gguf_file
        )
    head = head or "lm"
    config = (saved or EncoderConfig()).replace(head=head, backbone=kind)
    config = config.replace(profile=chosen)
    if saved is None and kind == "causal":
        config = config.replace(bidirectional=True)  # LACONIC's default for decoders
    if tokenizer is None:
        tokenizer = load_tokenizer(tokenizer_candidates(source, local, weights_dir, gguf_file), gguf_file=gguf_file)
    elif isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer([str(tokenizer)])
    else:
        tokenizer = prepare_tokenizer(tokenizer)
    return Loaded(model, tokenizer, config, local)


def _load_adapter(
    path: Path, *, device: torch.device, dtype: str | torch.dtype | None, head: str | None, merge_lora: bool,
    attn: str | None, tokenizer: Any, profile: Any,
) -> Loaded:
    from peft import PeftModel

    adapter_cfg = read_json_object(path / "adapter_config.json")
    base = adapter_cfg.get("base_model_name_or_path")
    if not base or not isinstance(base, str):
        raise InputError("missing base model", path=path / "adapter_config.json", field="base_model_name_or_path")
    own_tokenizer = any((path / f).is_file() for f in _TOKENIZER_FILES)
    base_loaded = load(
        base, device=device, dtype=dtype, head=head, merge_lora=True, attn_implementation=attn,
        tokenizer=tokenizer if tokenizer is not None else (str(path) if own_tokenizer else None),
    )
    saved = EncoderConfig.load(path)
    config = saved or base_loaded.config
    config = config.replace(profile=_resolve_profile(profile, config.profile))
    if config.backbone == "causal":
        # Attention must already be bidirectional when the adapter runs (it was trained so).
        bb.set_bidirectional(base_loaded.model, config.bidirectional)
    model = PeftModel.from_pretrained(base_loaded.model, str(path))
    if merge_lora:
        model = model.merge_and_unload()
    config = config.replace(head=base_loaded.config.head, backbone=base_loaded.config.backbone)
    return Loaded(model, base_loaded.tokenizer, config)
