"""Text to ``input_ids`` / ``attention_mask`` with LACONIC's conventions.

Llama-3's tokenizer prepends BOS, appends nothing and has no pad token. SPEC:
pad = EOS when there is no pad token, right padding, right truncation, no EOS
appended. Padding is masked out of attention and pooling, so its id never matters
for the vectors; right padding keeps every text's real tokens at positions 0..n-1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Apply the SPEC settings to a Hugging Face tokenizer in place and return it."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError("the tokenizer has neither a pad token nor an EOS token to pad with")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    tokenizer.truncation_side = "right"
    if getattr(tokenizer, "add_eos_token", False):  # Llama-2-style slow tokenizers
        tokenizer.add_eos_token = False
    return tokenizer


def format_document(doc: str | Mapping[str, Any]) -> str:
    """The text a document is encoded as: BEIR ``title`` and ``text`` joined by a space.

    Args:
        doc: a string, or a mapping with ``"text"`` and an optional ``"title"``.

    Example:
        >>> format_document({"title": "Vitamin D", "text": "Bones need it."})
        'Vitamin D Bones need it.'
    """
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, Mapping):
        raise TypeError(f"a document must be a str or a mapping with 'title'/'text', got {type(doc).__name__}")
    title = str(doc.get("title") or "").strip()
    text = str(doc.get("text") or "").strip()
    return f"{title} {text}" if title and text else (title or text)


def token_ids(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Unpadded token ids per text, truncated on the right to ``max_length``."""
    if not texts:
        return []
    enc = tokenizer(list(texts), truncation=True, max_length=int(max_length), padding=False)
    return [list(ids) for ids in enc["input_ids"]]


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int, device: Any = None) -> dict[str, torch.Tensor]:
    """Right-pad token id lists into (B, L) int64 ``input_ids`` and ``attention_mask``."""
    width = max((len(r) for r in rows), default=0)
    width = max(width, 1)
    ids = torch.full((len(rows), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            ids[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
            mask[i, : len(r)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
