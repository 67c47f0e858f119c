"""FSDP for the encoder: torch's ``fully_shard`` (FSDP2), one shard unit per transformer layer.

Why by hand rather than accelerate's FSDP plugin: accelerate (1.15) turns FSDP
on only for accelerator devices, so on CPU the plugin silently trains an
unsharded model. Applying ``fully_shard`` ourselves is a dozen lines over the
torch API and gives one code path that the CPU tests run (gloo) and GPUs run
(NCCL). The request still comes from accelerate's own config:
``distributed_type: FSDP`` (``ACCELERATE_USE_FSDP``) with
``fsdp_reshard_after_forward``; the mixed-precision policy follows the run's
``mixed_precision``: bf16/fp16 compute, fp32 gradient reduction, fp32 master
weights.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from laconic.errors import ConfigError

_LOW = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class FsdpRequest:
    """What the launcher asked for (read once, before accelerate sees it)."""

    reshard_after_forward: bool = True


def take_fsdp_request() -> FsdpRequest | None:
    """Read (and clear) accelerate's FSDP switch, so accelerate sets up plain processes and laconic shards.

    Only FSDP2 semantics are offered; an FSDP1-only setting is refused rather than ignored.
    """
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() != "true":
        return None
    os.environ["ACCELERATE_USE_FSDP"] = "false"
    if os.environ.get("FSDP_OFFLOAD_PARAMS", "false").lower() == "true":
        raise ConfigError("fsdp_offload_params is not supported by laconic's FSDP; remove it from the accelerate config")
    strategy = os.environ.get("FSDP_SHARDING_STRATEGY", "FULL_SHARD").upper()
    if strategy not in ("FULL_SHARD", "1", "SHARD_GRAD_OP", "2"):
        raise ConfigError(f"fsdp_sharding_strategy {strategy}: laconic shards with FULL_SHARD or SHARD_GRAD_OP")
    reshard = os.environ.get("FSDP_RESHARD_AFTER_FORWARD", "true").lower() not in ("false", "shard_grad_op", "2")
    return FsdpRequest(reshard_after_forward=reshard and strategy not in ("SHARD_GRAD_OP", "2"))


def shard_encoder(encoder: torch.nn.Module, request: FsdpRequest, precision: str) -> torch.nn.Module:
    """Shard every transformer layer (the backbone's ``_no_split_modules``), then the rest, in place."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    layer_names = set(getattr(encoder, "_no_split_modules", None) or [])
    if not layer_names:
        raise ConfigError("FSDP: the backbone names no transformer-layer classes (_no_split_modules) to shard by")
    low = _LOW.get(precision)
    policy = MixedPrecisionPolicy(param_dtype=low, reduce_dtype=torch.float32) if low is not None else MixedPrecisionPolicy()
    layers = [m for m in encoder.modules() if type(m).__name__ in layer_names]
    if not layers:
        raise ConfigError(f"FSDP: no module of class {sorted(layer_names)} in the model")
    for layer in layers:
        fully_shard(layer, mp_policy=policy, reshard_after_forward=request.reshard_after_forward)
    fully_shard(encoder, mp_policy=policy, reshard_after_forward=request.reshard_after_forward)
    return encoder


@contextlib.contextmanager
def no_gradient_sync(model: torch.nn.Module) -> Iterator[None]:
    """Accumulate unsharded gradients locally; the next synced backward reduce-scatters them once."""
    model.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)
