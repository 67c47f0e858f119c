"""Schedules as pure functions of the optimiser step (kept out of the losses, as in sentence-transformers)."""

from __future__ import annotations

import math


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    """Number of linear LR warm-up steps (at least 1 when the ratio is positive)."""
    if warmup_ratio <= 0:
        return 0
    return max(1, math.ceil(total_steps * warmup_ratio))


def lr_multiplier(step: int, total_steps: int, warmup: int, kind: str = "cosine") -> float:
    """Factor on the peak LR at optimiser step ``step`` (0-based): linear warm-up, then decay to 0.

    ``cosine``: half a cosine from 1 to 0 over the remaining steps; ``linear``: a
    straight line to 0; ``constant``: 1 after warm-up.
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    span = max(1, total_steps - warmup)
    progress = min(1.0, max(0.0, (step - warmup) / span))
    if kind == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def lambda_at(step: int, lam: float, warmup_steps: int) -> float:
    """FLOPS weight at step ``step``: ``λ_t = λ · min(1, t/T)^2`` (T = 0: constant λ)."""
    if warmup_steps <= 0:
        return lam
    return lam * min(1.0, step / warmup_steps) ** 2


def make_lr_scheduler(optimizer, total_steps: int, warmup_ratio: float, kind: str = "cosine"):
    """A ``LambdaLR`` over :func:`lr_multiplier`; its state dict resumes exactly."""
    from torch.optim.lr_scheduler import LambdaLR

    warm = warmup_steps(total_steps, warmup_ratio)
    return LambdaLR(optimizer, lambda s: lr_multiplier(s, total_steps, warm, kind))
