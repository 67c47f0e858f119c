"""Training state across processes: consolidated weights and optimiser, per-rank RNG, shard sizes.

Under FSDP each rank holds a shard of every parameter and of the optimiser
state, so reading ``named_parameters()`` on rank 0 saves a fragment. PyTorch's
``torch.distributed.checkpoint.state_dict`` gathers full tensors (FSDP1, FSDP2,
DDP and plain modules alike); every rank must call these functions together
(they are collectives), and only the main process writes. On load every rank
reads the same full files and keeps its own shard.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from laconic.errors import LaconicError


def _options(**extra: Any) -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True, **extra)


def full_trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every trainable parameter, whole, on CPU, named as in the unwrapped encoder (collective)."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_options(ignore_frozen_params=True))


def full_model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer, whole, on CPU (collective): what a full fine-tuning checkpoint saves."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_options())


def full_optimizer_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimiser state keyed by parameter name, whole, on CPU (collective)."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(model, _unwrap_optimizer(optimizer), options=_options())


def load_full_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, weights: dict[str, torch.Tensor], optim_state: dict[str, Any]
) -> None:
    """Put full (unsharded) weights and optimiser state back; each rank keeps its own shard."""
    from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_optimizer_state_dict

    result = set_model_state_dict(model, weights, options=_options(strict=False))
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if unexpected:
        raise LaconicError(f"checkpoint parameters not in the model (different LoRA/model?): {unexpected[:3]}")
    set_optimizer_state_dict(model, _unwrap_optimizer(optimizer), optim_state, options=_options())


def _unwrap_optimizer(optimizer: Any) -> torch.optim.Optimizer:
    return getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps the real one


def rng_state() -> dict[str, Any]:
    """This process's Python / NumPy / torch (CPU + CUDA) generator states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def all_rng_states() -> list[dict[str, Any]]:
    """Every rank's generator states, in rank order (collective; single process: a list of one)."""
    import torch.distributed as dist

    mine = rng_state()
    if not (dist.is_available() and dist.is_initialized()):
        return [mine]
    states: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(states, mine)
    return states


def local_numel(tensors: Any) -> int:
    """Elements this rank stores: the local shard of a DTensor / FSDP flat parameter, else the whole tensor."""
    total = 0
    for tensor in tensors:
        if not isinstance(tensor, torch.Tensor):
            continue
        local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
        total += local.numel()
    return total


def shard_report(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, list[int]]:
    """Per rank: trainable-parameter and optimiser-state elements held locally (collective).

    Written to ``distributed.json`` so a user can see that FSDP really shards
    (each rank about ``1/world`` of the total) and DDP really replicates.
    """
    import torch.distributed as dist

    params = [p for p in model.parameters() if p.requires_grad]
    states = [v for s in _unwrap_optimizer(optimizer).state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    mine = [local_numel(params), local_numel(states)]
    if dist.is_available() and dist.is_initialized():
        everyone: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, mine)
    else:
        everyone = [mine]
    return {"trainable_elements": [e[0] for e in everyone], "optimizer_elements": [e[1] for e in everyone]}
