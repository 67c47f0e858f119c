"""The two-phase LACONIC training curriculum: config, presets, data, losses, loop, merge, mining.

Names resolve lazily (as in ``laconic/__init__``): the CLI reads
``TrainingConfig`` to build ``laconic train``'s flags, and ``laconic --help``
must not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "TrainingConfig": "config", "resolve_config": "config",
    "PRESETS": "presets", "get_preset": "presets", "preset_names": "presets",
    "train": "loop",
    "Example": "data", "open_records": "data", "sample_group": "data",
    "BatchPlan": "collator", "GroupCollator": "collator", "GroupDataset": "collator",
    "LossParts": "losses", "flops": "losses", "gather_with_grad": "losses", "info_nce": "losses", "laconic_loss": "losses",
    "lambda_at": "schedules", "lr_multiplier": "schedules", "make_lr_scheduler": "schedules",
    "gradcache_step": "gradcache",
    "latest_checkpoint": "checkpoint", "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
    "attach_lora": "adapters", "merge_run": "adapters", "trained_encoder": "adapters",
    "MiningConfig": "mining", "mine_hard_negatives": "mining", "load_training_split": "mining", "write_tevatron": "mining",
    "MetricsLogger": "tracking", "read_metrics": "tracking",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'laconic.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"laconic.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
