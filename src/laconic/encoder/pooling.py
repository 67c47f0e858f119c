"""Masked max pooling of ``log(1 + ReLU(logits))`` without materialising B x L x V.

For Llama-3 (V = 128,256) one 256-token document's logits alone are 131 MB in
float32, so a batch of 32 would need 4 GB before pooling even starts. We project
the last hidden states onto the vocabulary a chunk of columns at a time, reduce
each chunk to its per-text maximum immediately, and keep only the (B, V) result.
When gradients are needed each chunk runs under ``torch.utils.checkpoint``, so
backward recomputes the chunk's logits instead of storing them.

Because ``log1p`` and ``ReLU`` are monotone, ``max_i log1p(relu(H_i))`` equals
``log1p(relu(max_i H_i))``: we take the max of raw logits (padding set to -inf
so it can never win) and apply the activation to the (B, c) maxima only.

The exported graph (ONNX / OpenVINO) computes the same numbers another way, because ONNX
Runtime's ``ReduceMax`` over the middle axis of (B, L, c) runs 8-20x slower than numpy's
(measured: 240 us for L = 21 and 3.2 ms for L = 128 per 8,192 columns, a fifth of a
splade-tiny query), and its ``Where`` over (B, L, c) costs as much again. So when exporting:
padding rows of the hidden states are replaced by the text's first real row (a duplicate
cannot change a max), and the max over L is taken by halving L five times with elementwise
``Max`` (vectorised) before the reduce, which then sees ceil(L / 32) rows.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.checkpoint import checkpoint


def _pool_chunk(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: torch.Tensor,
    halves: list[tuple[Any, Any]] | None = None,
) -> torch.Tensor:
    """Pooled weights of one vocabulary chunk.

    Args:
        hidden: (B, L, H) last hidden states (after any head transform).
        weight: (c, H) rows of the vocabulary projection.
        bias: (c,) or None.
        padding: (B, L, 1) bool, True at padding positions.
        halves: when exporting, :func:`_halving_bounds` of L; padding rows are then copies of real ones.

    Returns:
        (B, c) float32 ``log1p(relu(max over non-padding positions of the logits))``.
    """
    logits = torch.matmul(hidden, weight.t())  # (B, L, c)
    if bias is not None:
        logits = logits + bias
    if halves is not None:
        for hi, lo in halves:  # overlapping halves when L is odd: a row compared with itself
            logits = torch.maximum(logits[:, :hi], logits[:, lo:])
    else:
        logits = logits.masked_fill(padding, float("-inf"))
    return torch.log1p(torch.relu(logits.amax(dim=1).float()))  # (B, c)


_HALVINGS = 5  # rows left for the final reduce: ceil(L / 32), so one for any query of up to 32 tokens


def _halving_bounds(length: Any) -> list[tuple[Any, Any]]:
    """(ceil(n / 2), floor(n / 2)) for n = L, ceil(L / 2), ...: the halves' ends and starts, once per text batch."""
    bounds = []
    for _ in range(_HALVINGS):
        bounds.append(((length + 1) // 2, length // 2))
        length = (length + 1) // 2
    return bounds


def _repeat_first_real_row(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``hidden`` with every padding row replaced by the text's first real row."""
    first = attention_mask.argmax(dim=1)  # the first 1 of each row
    row = torch.gather(hidden, 1, first.view(-1, 1, 1).expand(-1, 1, hidden.shape[2]))  # (B, 1, H)
    return torch.where(attention_mask.unsqueeze(-1) == 0, row, hidden)


def pool_term_weights(
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    chunk_size: int | None = 8192,
    recompute: bool | None = None,
) -> torch.Tensor:
    """Dense (B, V) term weights ``log(1 + ReLU(max_i H_i))`` over non-padding positions.

    Args:
        hidden: (B, L, H) hidden states fed to the vocabulary projection.
        attention_mask: (B, L), 1 for real tokens, 0 for padding.
        weight: (V, H) vocabulary projection (the LM head or the tied embeddings).
        bias: optional (V,) projection bias.
        chunk_size: vocabulary columns per chunk; ``None`` or 0 does all V at once.
        recompute: checkpoint each chunk (recompute its logits in backward);
            defaults to ``torch.is_grad_enabled()``.

    Returns:
        (B, V) float32, >= 0. A text with no real token gets all zeros.

    Example:
        >>> h = torch.randn(2, 5, 8); w = torch.randn(30, 8); m = torch.ones(2, 5)
        >>> pool_term_weights(h, m, w, chunk_size=7).shape
        torch.Size([2, 30])
    """
    if hidden.dim() != 3 or attention_mask.shape != hidden.shape[:2]:
        raise ValueError(f"hidden {tuple(hidden.shape)} and attention_mask {tuple(attention_mask.shape)} disagree")
    vocab = weight.shape[0]
    step = vocab if not chunk_size else min(int(chunk_size), vocab)
    padding = (attention_mask == 0).unsqueeze(-1)  # (B, L, 1)
    if recompute is None:
        recompute = torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)
    exporting = torch.onnx.is_in_onnx_export()
    halves = None
    if exporting:  # traced: L stays a graph value, so the halves follow each call's length
        hidden = _repeat_first_real_row(hidden, attention_mask)
        halves = _halving_bounds(hidden.shape[1])
    parts = []
    for lo in range(0, vocab, step):
        w = weight[lo : lo + step]
        b = None if bias is None else bias[lo : lo + step]
        if recompute and step < vocab:
            parts.append(checkpoint(_pool_chunk, hidden, w, b, padding, use_reentrant=False))
        else:
            parts.append(_pool_chunk(hidden, w, b, padding, halves))
    pooled = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
    if exporting:  # a text with no real token has no real row to copy: all zeros, as documented
        pooled = pooled * (attention_mask.amax(dim=1, keepdim=True) > 0).to(pooled.dtype)
    return pooled


def keep_top_k(weights: torch.Tensor, k: int | None) -> torch.Tensor:
    """Zero all but each row's ``k`` largest weights (differentiable in the kept ones).

    ``k`` of ``None``/0, or ``k >= V``, returns ``weights`` unchanged.
    """
    if not k or k >= weights.shape[-1]:
        return weights
    values, index = weights.topk(int(k), dim=-1)
    return torch.zeros_like(weights).scatter(-1, index, values)
