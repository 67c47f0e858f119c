"""Gradient cache (Gao et al. 2021): contrastive batches far larger than activation memory allows.

The InfoNCE loss couples every query with every passage, so a batch cannot
simply be split into independent micro-batches. Gradient caching splits the
work instead:

1. embed every text in chunks *without* a graph (memory: one chunk);
2. compute the loss on those vectors and its gradient w.r.t. each vector;
3. re-embed chunk by chunk *with* a graph and back-propagate the cached
   vector gradients (``sum(v * grad_v)``), accumulating parameter gradients.

Step 3 must reproduce step 1 exactly, so the RNG state (dropout) is captured
before each chunk's first pass and restored for its second. The result equals
the plain full-batch gradient (tested against it), also under an fp16 loss
scaler: only step 2 goes through the scaler, and steps 3's gradients inherit
its scale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch

from laconic.training.losses import LossParts

Embed = Callable[[dict[str, torch.Tensor]], torch.Tensor]  # {input_ids, attention_mask} -> (rows, V)


class RngState:
    """CPU and CUDA generator states, captured now and restorable later."""

    def __init__(self) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


def split_inputs(inputs: dict[str, torch.Tensor], chunk_size: int) -> list[dict[str, torch.Tensor]]:
    """Row chunks of a tokenised batch."""
    rows = inputs["input_ids"].shape[0]
    return [{k: v[i: i + chunk_size] for k, v in inputs.items()} for i in range(0, rows, chunk_size)]


def embed_without_graph(embed: Embed, chunks: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, list[RngState]]:
    """Step 1: vectors of every chunk (no autograd graph kept) and the RNG state before each."""
    states, outputs = [], []
    with torch.no_grad():
        for chunk in chunks:
            states.append(RngState())
            outputs.append(embed(chunk))
    return torch.cat(outputs, dim=0), states


def gradcache_step(
    embed: Embed,
    q_inputs: dict[str, torch.Tensor],
    p_inputs: dict[str, torch.Tensor],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], LossParts],
    *,
    chunk_size: int,
    scale: float = 1.0,
    no_sync: Callable[[], Any] = contextlib.nullcontext,
    backward: Callable[[torch.Tensor], None] = torch.Tensor.backward,
) -> tuple[LossParts, torch.Tensor, torch.Tensor]:
    """One forward/backward of the whole batch under gradient caching.

    Args:
        embed: the (possibly DDP/FSDP-wrapped) encoder call.
        q_inputs, p_inputs: tokenised queries ``(B, Lq)`` and passages ``(B*n, Ld)``.
        loss_fn: vectors -> :class:`LossParts` (e.g. :func:`laconic_loss` with λ bound).
        chunk_size: texts per forward pass.
        scale: multiplies the loss before backward (1 / grad_accumulation).
        no_sync: context that suspends gradient all-reduce (all chunks but the last).
        backward: runs the loss's backward (``accelerator.backward``: with fp16 it
            multiplies by the loss scale, so the cached vector gradients, and through
            them the parameter gradients, carry the scale the scaler later removes).

    Returns:
        The loss parts and the detached query and passage vectors (for logging).
    """
    q_chunks, p_chunks = split_inputs(q_inputs, chunk_size), split_inputs(p_inputs, chunk_size)
    q_vec, q_states = embed_without_graph(embed, q_chunks)
    p_vec, p_states = embed_without_graph(embed, p_chunks)
    after = RngState()  # the state a plain pass would leave behind

    # Step 2: loss and d loss / d vector on leaf copies.
    q_leaf = q_vec.detach().requires_grad_(True)
    p_leaf = p_vec.detach().requires_grad_(True)
    parts = loss_fn(q_leaf, p_leaf)
    backward(parts.total * scale)
    q_grad, p_grad = q_leaf.grad, p_leaf.grad

    # Step 3: replay each chunk with a graph and push the cached gradient through it.
    work = []  # (chunk, rng state, cached gradient rows)
    for chunks, states, grad in ((q_chunks, q_states, q_grad), (p_chunks, p_states, p_grad)):
        start = 0
        for chunk, state in zip(chunks, states):
            rows = chunk["input_ids"].shape[0]
            work.append((chunk, state, grad[start: start + rows]))
            start += rows
    for i, (chunk, state, grad) in enumerate(work):
        state.restore()
        last = i == len(work) - 1  # gradients are all-reduced once, after the last chunk
        with contextlib.nullcontext() if last else no_sync():
            vec = embed(chunk)
            (vec * grad.to(vec.dtype)).sum().backward()
    after.restore()
    parts.total = parts.total.detach()
    return parts, q_vec, p_vec
