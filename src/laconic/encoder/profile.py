"""``EncodingProfile``: how a model family turns text into token ids and vectors.

A retrieval checkpoint only works when it is fed text the way it was trained.
LACONIC's released models were trained and evaluated without BOS/EOS and with
``query: `` / ``passage: `` prefixes; a SPLADE (BERT MLM) model expects
``[CLS] ... [SEP]`` and no prefix. Encoding the wrong way does not fail, it
silently gives bad vectors (SciFact nDCG@10 0.022 with BOS against 0.752 without,
for ``utahnlp/laconic-1b``). So the conventions are data, in this one class,
saved inside ``laconic_config.json`` beside every model we write, and every path
that turns text into ids (encode, eval, serve, mine, MTEB, training batches, the
Sentence Transformers export) goes through :meth:`EncodingProfile.token_ids`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from laconic.errors import ConfigError

KINDS = ("query", "document")
_DTYPE_NAMES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class EncodingProfile:
    """Text conventions, lengths, top-k and precision of one model family.

    Args:
        name: a label (``"laconic"``, ``"splade"``, or ``"custom"`` once edited).
        add_special_tokens: let the tokenizer add its special tokens (BOS, [CLS]/[SEP]).
            LACONIC: off; Llama-3's BOS is an attention sink whose logits win the max-pool.
        query_prefix: prepended to every query (LACONIC: ``"query: "``).
        passage_prefix: prepended to every passage (LACONIC: ``"passage: "``).
        title_separator: between a document's title and its text.
        join_empty_title: a document given as a mapping with a title field joins
            ``title + separator + text`` even when the title is ``""`` (the LACONIC
            authors' code does); off, an empty title leaves the text alone.
        query_max_length, document_max_length: the token budgets, as the paper states them.
        reserved_tokens: tokens kept free below the budget. The authors' tokenizer call
            reserves one slot for an EOS it then does not add, so 256 keeps 255 tokens.
        max_terms: keep the ``max_terms`` largest positive weights (``None``/0: all).
        cuda_dtype: compute precision on a GPU (LACONIC encodes in float16); the CPU
            always computes in float32 unless ``dtype=`` says otherwise.

    Example:
        >>> LACONIC.format(["what causes scurvy?"], "query")
        ['query: what causes scurvy?']
        >>> LACONIC.format([{"title": "Vitamin C", "text": "Scurvy ..."}], "document")
        ['passage: Vitamin C Scurvy ...']
    """

    name: str = "custom"
    add_special_tokens: bool = False
    query_prefix: str = ""
    passage_prefix: str = ""
    title_separator: str = " "
    join_empty_title: bool = False
    query_max_length: int = 256
    document_max_length: int = 256
    reserved_tokens: int = 0
    max_terms: int | None = 512
    cuda_dtype: str = "bfloat16"

    def __post_init__(self) -> None:
        for name in ("query_max_length", "document_max_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"profile field {name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.reserved_tokens, int) or not 0 <= self.reserved_tokens < min(
            self.query_max_length, self.document_max_length
        ):
            raise ConfigError(f"profile field reserved_tokens must be >= 0 and below both lengths, got {self.reserved_tokens!r}")
        if self.max_terms is not None and (not isinstance(self.max_terms, int) or self.max_terms < 0):
            raise ConfigError(f"profile field max_terms must be >= 0 or None, got {self.max_terms!r}")
        for name in ("query_prefix", "passage_prefix", "title_separator", "name"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"profile field {name} must be a string, got {getattr(self, name)!r}")
        if self.cuda_dtype not in _DTYPE_NAMES:
            raise ConfigError(f"profile field cuda_dtype must be one of {_DTYPE_NAMES}, got {self.cuda_dtype!r}")

    # ------------------------------------------------------------------ values
    @property
    def top_k(self) -> int | None:
        """``max_terms`` with 0 normalised to ``None`` (keep all)."""
        return self.max_terms or None

    def max_length(self, kind: str) -> int:
        """The stated token budget of ``kind`` (``"query"`` or ``"document"``)."""
        if kind == "query":
            return self.query_max_length
        if kind == "document":
            return self.document_max_length
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def truncation_length(self, kind: str, max_length: int | None = None) -> int:
        """Tokens actually kept: the budget (or ``max_length``) less ``reserved_tokens``."""
        budget = int(max_length) if max_length else self.max_length(kind)
        return max(1, budget - self.reserved_tokens)

    def replace(self, **changes: Any) -> EncodingProfile:
        """A copy with ``changes`` applied (``None`` values ignored); renamed ``custom`` if it differs."""
        changes = {k: v for k, v in changes.items() if v is not None}
        updated = dataclasses.replace(self, **changes)
        if "name" not in changes and updated != self:
            updated = dataclasses.replace(updated, name="custom")
        return updated

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EncodingProfile:
        """Inverse of :meth:`to_dict`; unknown keys are a :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown encoding profile fields {unknown}")
        return cls(**dict(data))

    # ------------------------------------------------------------------- text
    def format_query(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"a query must be a str, got {type(text).__name__}")
        return self.query_prefix + text

    def format_document(self, doc: str | Mapping[str, Any]) -> str:
        """A document as the model reads it: prefix, then title and text (a mapping) or the string."""
        return self.document_layout(doc)[0]

    def document_layout(self, doc: str | Mapping[str, Any]) -> tuple[str, int | None, int]:
        """``(formatted, title_start, text_start)``: the formatted document and where its title
        (``None`` when it has none) and its text begin in it (for highlighting by offsets)."""
        prefix = self.passage_prefix
        if isinstance(doc, str):
            return prefix + doc, None, len(prefix)
        if not isinstance(doc, Mapping):
            raise TypeError(f"a document must be a str or a mapping with 'title'/'text', got {type(doc).__name__}")
        text = doc.get("text")
        title = doc.get("title")
        text = "" if text is None else str(text)
        if title is None or (title == "" and not self.join_empty_title):
            return prefix + text, None, len(prefix)
        title = str(title)
        if text == "" and not self.join_empty_title:
            return prefix + title, len(prefix), len(prefix) + len(title)
        return f"{prefix}{title}{self.title_separator}{text}", len(prefix), len(prefix) + len(title) + len(self.title_separator)

    def format(self, items: Sequence[Any], kind: str) -> list[str]:
        """Format queries (``kind="query"``) or documents (``"document"``) for the tokenizer."""
        if kind == "query":
            return [self.format_query(t) for t in items]
        if kind == "document":
            return [self.format_document(d) for d in items]
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def token_ids(self, tokenizer: Any, items: Sequence[Any], kind: str, max_length: int | None = None) -> list[list[int]]:
        """Unpadded token ids of formatted ``items``, right-truncated to :meth:`truncation_length`."""
        if not items:
            return []
        enc = tokenizer(
            self.format(items, kind),
            truncation=True,
            max_length=self.truncation_length(kind, max_length),
            padding=False,
            add_special_tokens=self.add_special_tokens,
        )
        return [list(ids) for ids in enc["input_ids"]]


#: The released LACONIC checkpoints (SPEC "Encoding conventions"): no BOS/EOS, prefixes,
#: 256-token budgets of which 255 are used, top-512, float16 on GPU.
LACONIC = EncodingProfile(
    name="laconic",
    add_special_tokens=False,
    query_prefix="query: ",
    passage_prefix="passage: ",
    title_separator=" ",
    join_empty_title=True,
    query_max_length=256,
    document_max_length=256,
    reserved_tokens=1,
    max_terms=512,
    cuda_dtype="float16",
)

#: SPLADE-style MLM models (BERT family): ``[CLS] text [SEP]``, no prefixes, title and text
#: joined by a space (BEIR's convention), every positive weight kept unless capped.
SPLADE = EncodingProfile(
    name="splade",
    add_special_tokens=True,
    query_prefix="",
    passage_prefix="",
    title_separator=" ",
    join_empty_title=False,
    query_max_length=256,
    document_max_length=256,
    reserved_tokens=0,
    max_terms=512,
    cuda_dtype="bfloat16",
)

PRESETS: dict[str, EncodingProfile] = {p.name: p for p in (LACONIC, SPLADE)}


def default_profile(backbone: str) -> EncodingProfile:
    """The profile a model gets when nothing was saved with it: by backbone family."""
    return LACONIC if backbone == "causal" else SPLADE


def preset(name: str) -> EncodingProfile:
    """A named profile (``"laconic"`` or ``"splade"``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown encoding profile {name!r}; known: {sorted(PRESETS)}") from None
