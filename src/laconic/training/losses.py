"""The LACONIC objective as pure functions of pooled vectors: InfoNCE + λ-weighted FLOPS.

Vectors are dense ``(rows, vocab)`` tensors from ``SparseEncoder.forward``.
Passages come in groups: query ``i`` owns rows ``i*n .. i*n+n-1`` of the
passage tensor, its positive first, then its hard negatives (``n`` =
passages per query). Every other passage in the (global) batch is an extra
negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every process along dim 0, keeping the gradient of the local part.

    ``all_gather`` returns detached copies; putting the local tensor back in
    its slot keeps its graph, so each process back-propagates into its own
    rows. Single process (or no process group): returns ``x`` unchanged.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.detach().contiguous())
    parts[dist.get_rank()] = x
    return torch.cat(parts, dim=0)


def world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def info_nce(q: torch.Tensor, p: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Mean InfoNCE of each query's positive against all passages in the batch.

    Args:
        q: ``(B, V)`` query vectors.
        p: ``(B*n, V)`` passage vectors, grouped per query, positive first.
        temperature: scores are ``q·p / temperature`` (LACONIC: 1.0).

    Returns:
        A scalar: ``-mean_i log softmax_j(s_ij)[i*n]``.
    """
    n = p.shape[0] // q.shape[0]
    if n * q.shape[0] != p.shape[0]:
        raise ValueError(f"{p.shape[0]} passages do not split into groups for {q.shape[0]} queries")
    scores = (q @ p.T).float() / temperature  # (B, B*n)
    target = torch.arange(q.shape[0], device=q.device) * n
    return F.cross_entropy(scores, target)


def flops(w: torch.Tensor) -> torch.Tensor:
    """FLOPS regulariser (Paria et al. 2020): ``sum_j (mean_batch |w_j|)^2``."""
    return (w.float().abs().mean(dim=0) ** 2).sum()


@dataclass
class LossParts:
    """The objective and its parts (detached floats for logging, except ``total``)."""

    total: torch.Tensor  # differentiable scalar to back-propagate
    ranking: float  # InfoNCE
    flops_q: float  # unweighted FLOPS of the query vectors
    flops_d: float  # unweighted FLOPS of the passage vectors


def laconic_loss(
    q: torch.Tensor,
    p: torch.Tensor,
    *,
    lambda_q: float,
    lambda_d: float,
    temperature: float = 1.0,
) -> LossParts:
    """InfoNCE + ``λ_q·FLOPS(q) + λ_d·FLOPS(p)`` over the batch gathered from all processes.

    Every process computes the same global loss; its gradient reaches only the
    local rows, and data-parallel training averages gradients over processes,
    so ``total`` is scaled by the world size to give the full-batch gradient.
    """
    q_all, p_all = gather_with_grad(q), gather_with_grad(p)
    ranking = info_nce(q_all, p_all, temperature)
    fq, fd = flops(q_all), flops(p_all)
    total = ranking + lambda_q * fq + lambda_d * fd
    return LossParts(
        total=total * world_size(),
        ranking=float(ranking.detach()),
        flops_q=float(fq.detach()),
        flops_d=float(fd.detach()),
    )
