"""Tokenizer settings and padding shared by every encoding path.

What text is fed (prefixes, special tokens, truncation) is the encoding
profile's job (``profile.py``). Here: pad = EOS when the tokenizer has no pad
token (Llama-3 has none), right padding, right truncation, no EOS appended.
Padding is masked out of attention and pooling, so its id never matters for the
vectors; right padding keeps every text's real tokens at positions 0..n-1.
"""

from __future__ import annotations

from collections.abc import Sequence
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
