"""``EncoderConfig``: every knob of the sparse encoder, saved as JSON beside the weights.

The file ``laconic_config.json`` in a saved encoder directory holds this
dataclass; :meth:`SparseEncoder.from_pretrained` reads it back so an encoder
re-opens with the settings it was trained or exported with.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laconic.errors import ConfigError, InputError
from laconic.storage import atomic_write_text

CONFIG_NAME = "laconic_config.json"
_FORMAT = "laconic.encoder.v1"

#: How term logits are produced from the backbone's last hidden states.
#: ``lm``: the checkpoint's own LM / MLM head (Llama ``lm_head``, BERT ``cls.predictions``).
#: ``tied``: ``logits = h @ E.T`` with ``E`` the input embeddings (SPLADE-style head for
#: encoders shipped without an MLM head, such as all-MiniLM-L6-v2).
HEADS = ("lm", "tied")


@dataclass
class EncoderConfig:
    """Settings of a :class:`~laconic.encoder.SparseEncoder`.

    Args:
        max_terms: keep this many largest weights per vector after pooling
            (LACONIC uses 512); ``None`` or 0 keeps every non-zero weight.
        query_max_length: token budget of a query at encode time (SPEC: 256 for evaluation).
        document_max_length: token budget of a document at encode time (SPEC: 256).
        bidirectional: drop the causal mask of a decoder-only backbone (LACONIC's model);
            encoder backbones (BERT) are bidirectional anyway.
        head: ``"lm"`` (the checkpoint's LM/MLM head) or ``"tied"`` (input embeddings as
            the vocabulary projection, for encoders without an MLM head).
        pooling_chunk_size: vocabulary columns per pooling chunk, so the B x L x V
            logits tensor never exists; ``None`` or 0 computes all columns at once.
        backbone: ``"causal"`` or ``"masked"``: what the weights are (informational,
            filled in on load).
        logit_bias: constant added to every term logit before ``log(1 + ReLU)``. A bare
            encoder's tied head (MiniLM) gives ~97% of the vocabulary a positive logit, so
            every vector is dense and InfoNCE scores are sums over 30k terms; a negative
            bias (SPLADE's MLM head has a learned one) makes ReLU zero most terms from
            step 0. 0 keeps the plain head.
        mask_special_tokens: zero the tokenizer's special tokens ([CLS], [SEP], [PAD],
            [UNK], [MASK]) in the output. ``None``: on for the tied head only, where these
            rows of the input embeddings score high in every text and take top-k slots
            while carrying no lexical meaning; a trained LM head learns them away itself.

    Example:
        >>> EncoderConfig(max_terms=256).max_terms
        256
    """

    max_terms: int | None = 512
    query_max_length: int = 256
    document_max_length: int = 256
    bidirectional: bool = True
    head: str = "lm"
    pooling_chunk_size: int | None = 8192
    backbone: str = "causal"
    logit_bias: float = 0.0
    mask_special_tokens: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_terms is not None and self.max_terms < 0:
            raise ConfigError(f"max_terms must be >= 0 or None, got {self.max_terms}")
        for name in ("query_max_length", "document_max_length"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.head not in HEADS:
            raise ConfigError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.pooling_chunk_size is not None and self.pooling_chunk_size < 0:
            raise ConfigError(f"pooling_chunk_size must be >= 0 or None, got {self.pooling_chunk_size}")
        if self.backbone not in ("causal", "masked"):
            raise ConfigError(f"backbone must be 'causal' or 'masked', got {self.backbone!r}")

    @property
    def top_k(self) -> int | None:
        """``max_terms`` with 0 normalised to ``None`` (keep all)."""
        return self.max_terms or None

    @property
    def masks_special_tokens(self) -> bool:
        """``mask_special_tokens`` resolved: ``None`` means on for the tied head only."""
        if self.mask_special_tokens is None:
            return self.head == "tied"
        return bool(self.mask_special_tokens)

    def max_length(self, kind: str) -> int:
        """Token budget for ``kind`` (``"query"`` or ``"document"``)."""
        if kind == "query":
            return self.query_max_length
        if kind == "document":
            return self.document_max_length
        raise ValueError(f"kind must be 'query' or 'document', got {kind!r}")

    def replace(self, **changes: Any) -> EncoderConfig:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, **dataclasses.asdict(self)}

    def save(self, directory: str | Path) -> Path:
        """Write ``laconic_config.json`` into ``directory`` (atomically)."""
        path = Path(directory) / CONFIG_NAME
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> EncoderConfig | None:
        """Read ``laconic_config.json`` from ``directory``; ``None`` if there is none."""
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"unreadable encoder config ({exc})", path=path) from exc
        if not isinstance(data, dict) or data.pop("format", None) != _FORMAT:
            raise InputError(f"not a laconic encoder config (expected format {_FORMAT})", path=path)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown encoder config keys {unknown}", path=path)
        try:
            return cls(**data)
        except (TypeError, ConfigError) as exc:
            raise InputError(f"invalid encoder config ({exc})", path=path) from exc
