"""The released LACONIC recipe (SPEC's table) as named `TrainingConfig` values: data, not code.

Each preset is the per-device setting; the published runs used 4 nodes x 8
GPUs (phase 1, and phase 2 of the 8B) or 8 GPUs (phase 2 of 1B/3B). The global
batch is ``batch_size x grad_accumulation x number of processes``.
The 3B phase-2 learning rate is not in the table; we use the 1B's 5e-5.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from laconic.errors import ConfigError
from laconic.training.config import TrainingConfig

_BACKBONES = {"1b": "meta-llama/Llama-3.2-1B", "3b": "meta-llama/Llama-3.2-3B", "8b": "meta-llama/Llama-3.1-8B"}

# Phase 1 (pre-finetuning): weak pairs, in-batch negatives only.
_PHASE1: dict[str, Any] = dict(
    phase=1, train_data="utahnlp/nomic-embed-pretrain-lite", passages_per_query=1,
    batch_size=64, grad_accumulation=4, epochs=3, lr=1e-4, schedule="cosine", warmup_ratio=0.05,
    lora=True, lora_r=32, lora_alpha=64, lambda_q=5e-4, lambda_d=5e-4, lambda_warmup_steps=4000,
    query_max_length=64, document_max_length=192, mixed_precision="auto", gradient_checkpointing=True,
)
# Phase 2 (finetuning): 1 positive + 15 curated hard negatives per query.
_PHASE2: dict[str, Any] = dict(
    phase=2, train_data="rlhn/rlhn-680K", passages_per_query=16,
    batch_size=4, grad_accumulation=4, epochs=1, lr=5e-5, schedule="cosine", warmup_ratio=0.05,
    lora=True, lora_r=32, lora_alpha=64, lambda_q=1e-3, lambda_d=1e-3, lambda_warmup_steps=100,
    query_max_length=192, document_max_length=192, mixed_precision="auto", gradient_checkpointing=True,
)
# Per-size differences from the phase defaults above.
_SIZE_OVERRIDES: dict[tuple[str, int], dict[str, Any]] = {
    ("8b", 2): dict(batch_size=1, lora_r=16, lora_alpha=32, lr=1e-4),
}

PRESETS: dict[str, TrainingConfig] = {}
for _size, _backbone in _BACKBONES.items():
    for _phase, _values in ((1, _PHASE1), (2, _PHASE2)):
        _merged = {**_values, **_SIZE_OVERRIDES.get((_size, _phase), {}), "model": _backbone}
        _merged["output_dir"] = f"runs/laconic-{_size}-phase{_phase}"
        PRESETS[f"laconic-{_size}-phase{_phase}"] = TrainingConfig(**_merged)


def get_preset(name: str) -> TrainingConfig:
    """A fresh copy of the named preset (``laconic-{1b,3b,8b}-phase{1,2}``)."""
    try:
        return dataclasses.replace(PRESETS[name])
    except KeyError:
        raise ConfigError(f"unknown preset '{name}'; choose one of: {', '.join(PRESETS)}") from None


def preset_names() -> list[str]:
    return list(PRESETS)
