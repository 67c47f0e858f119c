"""``EncoderConfig``: every knob of the sparse encoder, saved as JSON beside the weights.

The file ``laconic_config.json`` in a saved encoder directory holds this
dataclass; :meth:`SparseEncoder.from_pretrained` reads it back so an encoder
re-opens with the settings it was trained or exported with. The text side
(special tokens, prefixes, lengths, top-k, precision) is its
:class:`~laconic.encoder.profile.EncodingProfile`; the rest describes the model.

Format ``laconic.encoder.v2`` nests the profile. ``v1`` files (lengths and top-k
at the top level, no profile) are read as what they were: encoded with the
tokenizer's special tokens and no prefixes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laconic.encoder.profile import SPLADE, EncodingProfile
from laconic.errors import ConfigError, InputError
from laconic.storage import atomic_write_text

CONFIG_NAME = "laconic_config.json"
_FORMAT = "laconic.encoder.v2"
_FORMAT_V1 = "laconic.encoder.v1"
_V1_PROFILE_KEYS = ("max_terms", "query_max_length", "document_max_length")
#: names ``replace`` routes into the profile
_PROFILE_FIELDS = frozenset(f.name for f in dataclasses.fields(EncodingProfile))

#: How term logits are produced from the backbone's last hidden states.
#: ``lm``: the checkpoint's own LM / MLM head (Llama ``lm_head``, BERT ``cls.predictions``).
#: ``tied``: ``logits = h @ E.T`` with ``E`` the input embeddings (SPLADE-style head for
#: encoders shipped without an MLM head, such as all-MiniLM-L6-v2).
HEADS = ("lm", "tied")


@dataclass
class EncoderConfig:
    """Settings of a :class:`~laconic.encoder.SparseEncoder`.

    Args:
        profile: the text conventions, lengths, top-k and precision
            (:class:`~laconic.encoder.profile.EncodingProfile`); ``max_terms``,
            ``query_max_length`` and ``document_max_length`` read through to it.
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
        >>> EncoderConfig().replace(max_terms=256).max_terms
        256
    """

    profile: EncodingProfile = SPLADE
    bidirectional: bool = True
    head: str = "lm"
    pooling_chunk_size: int | None = 8192
    backbone: str = "causal"
    logit_bias: float = 0.0
    mask_special_tokens: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.profile, EncodingProfile):
            raise ConfigError(f"profile must be an EncodingProfile, got {type(self.profile).__name__}")
        if self.head not in HEADS:
            raise ConfigError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.pooling_chunk_size is not None and self.pooling_chunk_size < 0:
            raise ConfigError(f"pooling_chunk_size must be >= 0 or None, got {self.pooling_chunk_size}")
        if self.backbone not in ("causal", "masked"):
            raise ConfigError(f"backbone must be 'causal' or 'masked', got {self.backbone!r}")

    @property
    def max_terms(self) -> int | None:
        return self.profile.max_terms

    @property
    def query_max_length(self) -> int:
        return self.profile.query_max_length

    @property
    def document_max_length(self) -> int:
        return self.profile.document_max_length

    @property
    def top_k(self) -> int | None:
        """``max_terms`` with 0 normalised to ``None`` (keep all)."""
        return self.profile.top_k

    @property
    def masks_special_tokens(self) -> bool:
        """``mask_special_tokens`` resolved: ``None`` means on for the tied head only."""
        if self.mask_special_tokens is None:
            return self.head == "tied"
        return bool(self.mask_special_tokens)

    def max_length(self, kind: str) -> int:
        """Token budget for ``kind`` (``"query"`` or ``"document"``)."""
        return self.profile.max_length(kind)

    def replace(self, **changes: Any) -> EncoderConfig:
        """A copy with ``changes`` applied (``None`` values are ignored).

        Profile fields (``max_terms``, ``query_prefix``, ...) go to the profile, so
        ``replace(max_terms=64)`` works without the caller knowing where it lives.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        profile_changes = {k: changes.pop(k) for k in list(changes) if k in _PROFILE_FIELDS}
        if profile_changes:
            changes["profile"] = changes.get("profile", self.profile).replace(**profile_changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["profile"] = self.profile.to_dict()
        return {"format": _FORMAT, **data}

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
        fmt = data.pop("format", None) if isinstance(data, dict) else None
        if fmt not in (_FORMAT, _FORMAT_V1):
            raise InputError(f"not a laconic encoder config (expected format {_FORMAT})", path=path)
        try:
            if fmt == _FORMAT_V1:
                # v1 models were encoded with the tokenizer's special tokens and no prefixes.
                old = {k: data.pop(k) for k in _V1_PROFILE_KEYS if k in data}
                data["profile"] = SPLADE.replace(name="v1", **old)
            else:
                data["profile"] = EncodingProfile.from_dict(data.get("profile") or {})
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(data) - known)
            if unknown:
                raise InputError(f"unknown encoder config keys {unknown}", path=path)
            return cls(**data)
        except (TypeError, ConfigError) as exc:
            raise InputError(f"invalid encoder config ({exc})", path=path) from exc
