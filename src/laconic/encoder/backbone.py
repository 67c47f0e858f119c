"""Load the transformer under a sparse encoder and expose its pieces to pooling.

Three kinds of checkpoint become a term-weight model:

- ``causal``: a Llama-family ``*ForCausalLM``. LACONIC removes the causal mask so
  every token attends to every non-padding token (:func:`set_bidirectional`).
- ``masked``: a BERT-family ``*ForMaskedLM`` (SPLADE's backbone); its MLM head is
  a transform (dense, activation, LayerNorm) followed by the vocabulary projection.
- a bare encoder with no vocabulary head (``BertModel``, e.g. all-MiniLM-L6-v2):
  it gets a head tied to its input embeddings (``head="tied"``).

Pooling never calls the model's own head on the full B x L x H states (that would
materialise B x L x V logits); it asks for the last hidden states and the head's
``(weight, bias)`` and projects them chunk by chunk (see ``pooling.py``).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from laconic.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

#: transformers 5.2 added the ``config.is_causal`` switch that turns a decoder's mask
#: bidirectional (huggingface/transformers#43705); older versions silently stay causal.
MIN_TRANSFORMERS = (5, 2)


def check_transformers(version: str | None = None) -> None:
    """Refuse a transformers release too old to make a decoder bidirectional."""
    if version is None:
        import transformers

        version = transformers.__version__
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    if tuple(parts) < MIN_TRANSFORMERS:
        need = ".".join(map(str, MIN_TRANSFORMERS))
        raise ConfigError(
            f"laconic needs transformers >= {need} (found {version}): older releases cannot make a "
            f"decoder's attention bidirectional. Upgrade with: pip install -U 'transformers>={need}'"
        )


def unwrap_peft(model: nn.Module) -> nn.Module:
    """The transformers model under a PEFT wrapper (LoRA layers stay injected in it)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def architecture_kind(config: Any) -> str:
    """``"causal"``, ``"masked"`` or ``"bare"`` from a transformers config's architectures."""
    archs = list(getattr(config, "architectures", None) or [])
    if any(a.endswith("ForCausalLM") for a in archs):
        return "causal"
    if any(a.endswith("ForMaskedLM") for a in archs):
        return "masked"
    if not archs and getattr(config, "model_type", "") in ("llama", "mistral", "qwen2", "qwen3", "gemma"):
        return "causal"  # Hub configs without an architectures list
    return "bare"


def _hf_config(name_or_path: str, gguf_file: str | None) -> Any:
    from transformers import AutoConfig

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        return AutoConfig.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        raise InputError(f"cannot load a model from {name_or_path!r} ({str(exc).splitlines()[0]})") from exc


def detect_backbone(name_or_path: str, *, gguf_file: str | None = None) -> str:
    """``"causal"`` or ``"masked"`` (bare encoders count as masked: they get a tied head)."""
    kind = architecture_kind(_hf_config(name_or_path, gguf_file))
    return "causal" if kind == "causal" else "masked"


def load_transformer(
    name_or_path: str,
    *,
    head: str | None,
    dtype: torch.dtype | None,
    attn_implementation: str | None = None,
    gguf_file: str | None = None,
) -> tuple[nn.Module, str, str]:
    """Load weights as ``(model, backbone, head)``; ``backbone`` is ``"causal"`` or ``"masked"``.

    ``name_or_path`` is a local directory. ``gguf_file`` names a GGUF checkpoint inside
    it (llama.cpp's format), which transformers dequantises to ``dtype``.
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM

    check_transformers()
    config = _hf_config(name_or_path, gguf_file)
    kind = architecture_kind(config)
    kwargs: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    if kind == "causal":
        model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
        _drop_gguf_quantizer(model)
        return model, "causal", head or "lm"
    if kind == "masked":
        model = AutoModelForMaskedLM.from_pretrained(name_or_path, **kwargs)
        return model, "masked", head or "lm"
    if head == "lm":
        raise ConfigError(
            f"{name_or_path} has no LM/MLM head (architectures={getattr(config, 'architectures', None)}); "
            "use head='tied' to project onto the input embeddings"
        )
    if head is None:
        logger.info("%s has no vocabulary head: using a head tied to the input embeddings", name_or_path)
    return AutoModel.from_pretrained(name_or_path, **kwargs), "masked", "tied"


def _drop_gguf_quantizer(model: nn.Module) -> None:
    """Forget a GGUF file's quantisation config: the weights are dequantised already, and
    ``save_pretrained`` would otherwise refuse (or record) a quantiser that is not there."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None and hasattr(quantizer, "remove_quantization_config"):
        quantizer.remove_quantization_config(model)


def set_bidirectional(model: nn.Module, bidirectional: bool) -> None:
    """Make a decoder's self-attention bidirectional (or causal again).

    transformers >= 5.2 builds the mask with ``create_causal_mask``, which falls back
    to a bidirectional padding mask when ``config.is_causal`` is False; that flag is
    also written to ``config.json``, so plain ``from_pretrained`` (and Sentence
    Transformers) reload the model bidirectional. Attention kernels that receive no
    mask (flash-attention, SDPA without padding) read ``module.is_causal`` instead, so
    it is set on every attention module too.
    """
    hf = unwrap_peft(model)
    configs = [hf.config, *(getattr(hf.config, n, None) for n in getattr(hf.config, "sub_configs", {}) or {})]
    for cfg in configs:
        if cfg is not None:
            cfg.is_causal = not bidirectional
    for module in hf.modules():
        if module is not hf and hasattr(module, "is_causal") and isinstance(module.is_causal, bool):
            module.is_causal = not bidirectional


def is_bidirectional(model: nn.Module) -> bool:
    """Whether the (decoder) backbone currently attends both ways."""
    return not getattr(unwrap_peft(model).config, "is_causal", True)


def body(model: nn.Module) -> nn.Module:
    """The transformer stack without its head (``LlamaModel``, ``BertModel``)."""
    hf = unwrap_peft(model)
    prefix = getattr(hf, "base_model_prefix", "")
    inner = getattr(hf, prefix, None) if prefix else None
    return inner if isinstance(inner, nn.Module) else hf


def head_transform(model: nn.Module, head: str) -> nn.Module | None:
    """The part of an MLM head before the vocabulary projection (``None``: identity).

    Llama's final norm sits inside the body, so causal heads need none; BERT,
    RoBERTa and DistilBERT MLM heads apply dense + activation + LayerNorm first.
    """
    if head == "tied":
        return None
    hf = unwrap_peft(model)
    if hasattr(hf, "cls") and hasattr(hf.cls, "predictions"):  # BERT family
        return hf.cls.predictions.transform
    lm_head = getattr(hf, "lm_head", None)
    if lm_head is not None and hasattr(lm_head, "dense") and hasattr(lm_head, "layer_norm"):  # RoBERTa family
        return _RobertaTransform(lm_head)
    if hasattr(hf, "vocab_transform"):  # DistilBERT
        return _DistilBertTransform(hf)
    if isinstance(hf.get_output_embeddings(), nn.Linear) and _is_causal_lm(hf):
        return None
    raise ConfigError(f"unsupported MLM head on {type(hf).__name__}; supported: Llama-family, BERT, RoBERTa, DistilBERT")


def head_weights(model: nn.Module, head: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The vocabulary projection ``(W (V, H), b (V,) or None)`` applied after the transform."""
    hf = unwrap_peft(model)
    if head == "tied":
        return hf.get_input_embeddings().weight, None
    out = hf.get_output_embeddings()
    if out is None:
        raise ConfigError(f"{type(hf).__name__} has no output embeddings; use head='tied'")
    weight = getattr(out, "weight", None)
    if weight is None:  # a PEFT-wrapped head
        weight = out.base_layer.weight
    bias = getattr(out, "bias", None)
    if bias is None and hasattr(hf, "cls"):
        bias = getattr(hf.cls.predictions, "bias", None)
    return weight, bias


def _is_causal_lm(model: nn.Module) -> bool:
    return type(model).__name__.endswith("ForCausalLM")


class _RobertaTransform(nn.Module):
    """dense -> GELU -> LayerNorm of a RoBERTa LM head (its decoder is applied by pooling)."""

    def __init__(self, lm_head: nn.Module) -> None:
        super().__init__()
        self.lm_head = lm_head

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.gelu(self.lm_head.dense(hidden))
        return self.lm_head.layer_norm(h)


class _DistilBertTransform(nn.Module):
    """vocab_transform -> activation -> vocab_layer_norm of DistilBERT."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        m = self.model
        return m.vocab_layer_norm(m.activation(m.vocab_transform(hidden)))
