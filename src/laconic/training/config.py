"""`TrainingConfig`: every training knob in one place, typed, with a default.

Resolution order is preset < YAML file < explicit overrides (CLI flags), as in
nanoGPT's configurator but checked: unknown keys and values of the wrong type
raise :class:`laconic.errors.ConfigError` naming the key (and the file).
The resolved config is written next to every run (``training_config.json``
and ``.yaml``: not ``config.json``, which is Hugging Face's model config) and
into every checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laconic.errors import ConfigError
from laconic.storage import atomic_write_text

MIXED_PRECISION = ("auto", "bf16", "fp16", "no")
RUN_CONFIG = "training_config"  # <run>/training_config.json and .yaml
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class TrainingConfig:
    """Knobs of one training run (phase 1 or phase 2 of the LACONIC curriculum).

    Defaults are the 1B phase-2 recipe; :mod:`laconic.training.presets` holds
    the full released table. λ warm-up follows ``λ_t = λ·min(1, t/T)^2``.

    Example:
        >>> cfg = TrainingConfig(model="meta-llama/Llama-3.2-1B", train_data="train.jsonl")
        >>> cfg.passages_per_query
        16
    """

    # --- what to train, on what, where to write
    model: str = ""  # base checkpoint: HF name/path, or a merged phase-1 run
    tokenizer: str | None = None  # tokenizer folder/Hub id when the checkpoint ships none (None: its own or its base's)
    profile: str | None = None  # encoding profile preset ("laconic", "splade"); None: the model's own
    train_data: str = ""  # JSONL / Parquet file, or a Hugging Face dataset name
    train_split: str = "train"  # split used when train_data is a HF dataset name
    output_dir: str = "runs/laconic"  # run directory (config, metrics, checkpoints, final)
    phase: int = 2  # 1: weak (query, passage) pairs; 2: Tevatron hard negatives
    # --- batches
    passages_per_query: int = 16  # group size: 1 positive + n-1 hard negatives
    batch_size: int = 4  # queries per device per micro-step
    grad_accumulation: int = 1  # micro-steps per optimiser step
    epochs: int = 1  # passes over the data (ignored when max_steps > 0)
    max_steps: int = -1  # optimiser steps; > 0 overrides epochs
    # --- optimiser and schedule
    lr: float = 5e-5  # peak learning rate (AdamW)
    schedule: str = "cosine"  # cosine | linear | constant (all with warm-up)
    warmup_ratio: float = 0.05  # fraction of steps with linear LR warm-up
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    max_grad_norm: float = 1.0  # gradient clipping (<= 0 disables)
    # --- adapters
    lora: bool = True  # LoRA adapters (False: full fine-tuning)
    lora_r: int = 32  # LoRA rank
    lora_alpha: int = 64  # LoRA scaling numerator (scale = alpha / r)
    lora_dropout: float = 0.1  # dropout on the LoRA input
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))  # modules to adapt
    # --- objective
    lambda_q: float = 1e-3  # FLOPS weight on query vectors (λ_q)
    lambda_d: float = 1e-3  # FLOPS weight on document vectors (λ_d)
    lambda_warmup_steps: int = 100  # T: λ rises quadratically to its value over T steps
    temperature: float = 1.0  # InfoNCE temperature (1.0: raw dot products)
    train_top_k: int = 0  # keep top-k weights per vector in training (0: no pruning)
    # --- encoder
    query_max_length: int = 192  # tokens per query in training
    document_max_length: int = 192  # tokens per passage in training
    pooling_chunk_size: int = 8192  # vocabulary columns per pooling chunk, recomputed in backward (0: no chunking)
    bidirectional: bool = True  # remove the causal mask (LACONIC: yes)
    # --- memory and speed
    mixed_precision: str = "auto"  # auto (bf16 on GPU, none on CPU) | bf16 | fp16 | no; weights being trained stay fp32
    gradient_checkpointing: bool = True  # recompute activations in backward
    gradcache: bool = False  # gradient cache: big batches at constant memory
    gradcache_chunk_size: int = 32  # texts per forward pass under gradcache
    num_workers: int = 0  # DataLoader worker processes
    # --- bookkeeping
    seed: int = 42  # seeds init, shuffling, negative sampling and dropout
    save_every: int = 500  # checkpoint every N optimiser steps (0: only at the end)
    keep_checkpoints: int = 2  # keep the last K complete checkpoints
    log_every: int = 1  # write metrics every N optimiser steps
    report_to: str = "auto"  # auto | none | tensorboard | wandb | tensorboard,wandb
    progress: bool = True  # console progress bar
    resume: bool = False  # continue from the last complete checkpoint in output_dir

    def validate(self) -> TrainingConfig:
        """Check cross-field consistency; return self so calls chain."""
        checks = [
            (bool(self.model), "model", "is required"),
            (bool(self.train_data), "train_data", "is required"),
            (self.phase in (1, 2), "phase", "must be 1 or 2"),
            (self.passages_per_query >= 1, "passages_per_query", "must be >= 1"),
            (self.batch_size >= 1, "batch_size", "must be >= 1"),
            (self.grad_accumulation >= 1, "grad_accumulation", "must be >= 1"),
            (self.epochs >= 1 or self.max_steps > 0, "epochs", "must be >= 1 (or set max_steps)"),
            (self.lr > 0, "lr", "must be > 0"),
            (self.schedule in ("cosine", "linear", "constant"), "schedule", "must be cosine|linear|constant"),
            (0.0 <= self.warmup_ratio < 1.0, "warmup_ratio", "must be in [0, 1)"),
            (self.lora_r >= 1, "lora_r", "must be >= 1"),
            (self.lambda_q >= 0 and self.lambda_d >= 0, "lambda_q/lambda_d", "must be >= 0"),
            (self.lambda_warmup_steps >= 0, "lambda_warmup_steps", "must be >= 0"),
            (self.temperature > 0, "temperature", "must be > 0"),
            (self.query_max_length >= 2 and self.document_max_length >= 2, "max_length", "must be >= 2"),
            (self.mixed_precision in MIXED_PRECISION, "mixed_precision", f"must be one of {'|'.join(MIXED_PRECISION)}"),
            (self.gradcache_chunk_size >= 1, "gradcache_chunk_size", "must be >= 1"),
            (self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1"),
            (self.log_every >= 1, "log_every", "must be >= 1"),
        ]
        for ok, name, problem in checks:
            if not ok:
                raise ConfigError(f"training config: '{name}' {problem}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, directory: str | Path) -> None:
        """Write ``training_config.json`` and ``.yaml`` atomically into ``directory``."""
        import yaml

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data = self.to_dict()
        atomic_write_text(directory / f"{RUN_CONFIG}.json", json.dumps(data, indent=2) + "\n")
        atomic_write_text(directory / f"{RUN_CONFIG}.yaml", yaml.safe_dump(data, sort_keys=False))

    @classmethod
    def load(cls, path: str | Path) -> TrainingConfig:
        """Read a saved ``training_config.json``/``.yaml`` (or a run directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / f"{RUN_CONFIG}.json"
        return cls().merged(read_config_file(path), source=str(path))

    def merged(self, overrides: Mapping[str, Any], *, source: str = "overrides") -> TrainingConfig:
        """A copy with ``overrides`` applied; keys may use dashes or underscores."""
        hints = typing.get_type_hints(TrainingConfig)
        values = {}
        for raw_key, value in overrides.items():
            key = str(raw_key).replace("-", "_")
            if key == "bf16":  # the old switch: on meant bf16 where CUDA is, which "auto" now says
                key, value = "mixed_precision", "auto" if coerce(bool, value, key=key, source=source) else "no"
            if key not in hints:
                raise ConfigError(f"{source}: unknown training option '{raw_key}'")
            values[key] = coerce(hints[key], value, key=key, source=source)
        return dataclasses.replace(self, **values)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML or JSON mapping of option -> value."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of option: value, got {type(data).__name__}")
    return data


def coerce(hint: Any, value: Any, *, key: str, source: str) -> Any:
    """Convert ``value`` to the field's type; YAML gives '5e-5' as a string, flags give text."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    try:
        if origin is list:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise TypeError
            return [str(v) for v in value]
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
            if number != int(number):
                raise ValueError
            return int(number)
        if hint is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if hint is str:
            if isinstance(value, (dict, list)):
                raise TypeError
            return str(value)
    except (TypeError, ValueError):
        name = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"{source}: option '{key}' expects {name}, got {value!r}") from None
    return value


def resolve_config(
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TrainingConfig:
    """Build the run's config: preset < YAML file < overrides (None values are skipped).

    Example:
        >>> cfg = resolve_config("laconic-1b-phase1", overrides={"lr": 2e-4, "model": "m", "train_data": "d"})
        >>> (cfg.passages_per_query, cfg.lr)
        (1, 0.0002)
    """
    from laconic.training.presets import get_preset

    config = get_preset(preset) if preset else TrainingConfig()
    if config_file is not None:
        file_values = read_config_file(config_file)
        nested_preset = file_values.pop("preset", None)
        if nested_preset and not preset:
            config = get_preset(str(nested_preset))
        config = config.merged(file_values, source=str(config_file))
    if overrides:
        config = config.merged({k: v for k, v in overrides.items() if v is not None}, source="command line")
    return config
