"""LoRA adapters via peft (attach for training, merge for release), and the run -> checkpoint merge.

``get_peft_model`` injects LoRA layers into the backbone *in place*, so
``encoder.model`` stays the same module (now adapted) and the encoder's own
forward (bidirectional attention, chunked pooling) is untouched; the returned
``PeftModel`` is kept only to save adapters and to merge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from laconic.errors import ConfigError, InputError
from laconic.storage import atomic_directory
from laconic.training.config import TrainingConfig


def attach_lora(encoder: Any, config: TrainingConfig) -> Any:
    """Add LoRA (r, alpha, dropout, targets from ``config``) to ``encoder.model``; freeze the rest."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_targets),
        bias="none",
    )
    try:
        peft_model = get_peft_model(encoder.model, lora)
    except ValueError as exc:  # e.g. target modules absent (BERT names them query/key/value)
        raise ConfigError(f"lora_targets {list(config.lora_targets)}: {exc}") from None
    for name, param in encoder.named_parameters():  # anything outside the backbone stays frozen too
        if "lora_" not in name:
            param.requires_grad_(False)
    return peft_model


def load_encoder(config: TrainingConfig, *, device: Any = None, dtype: Any = None) -> Any:
    """The encoder a run trains: ``config.model`` with its own saved settings, bidirectional as configured."""
    from laconic.encoder import SparseEncoder

    encoder = SparseEncoder.from_pretrained(
        config.model, device=device, dtype=dtype, bidirectional=config.bidirectional,
        tokenizer=config.tokenizer, profile=config.profile,
    )
    return encoder


def trained_encoder(run_dir: str | Path, checkpoint: str | Path | None = None) -> Any:
    """Rebuild the trained encoder of a run (LoRA merged into the weights), on CPU in fp32.

    Reads ``<run>/config.json`` for the base model and LoRA shape, then the
    trainable weights of ``<run>/final`` (or of ``checkpoint``).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise InputError("not a training run directory (no config.json)", path=run_dir)
    config = TrainingConfig.load(run_dir)
    source = Path(checkpoint) if checkpoint is not None else run_dir / "final"
    weights_path = source / "trainable.pt"
    if not weights_path.is_file():
        raise InputError("no trained weights (trainable.pt): the run did not finish; pass --checkpoint", path=source)
    encoder = load_encoder(config, device="cpu", dtype=torch.float32)
    peft_model = attach_lora(encoder, config) if config.lora else None
    weights = torch.load(weights_path, map_location="cpu", weights_only=True)
    params = dict(encoder.named_parameters())
    unknown = [n for n in weights if n not in params]
    if unknown:
        raise InputError(f"weights do not match the run's model/LoRA config: {unknown[:3]}", path=weights_path)
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value.to(params[name].dtype))
    if peft_model is not None:
        encoder.model = peft_model.merge_and_unload()
    for param in encoder.parameters():
        param.requires_grad_(False)
    return encoder.eval()


def merge_run(run_dir: str | Path, output: str | Path, checkpoint: str | Path | None = None) -> Path:
    """Write a plain encoder checkpoint (LoRA merged) that ``SparseEncoder.from_pretrained`` loads.

    The encoder's settings (bidirectional attention, max terms, lengths) come
    from the base model's saved ``EncoderConfig``; the write is atomic.
    """
    encoder = trained_encoder(run_dir, checkpoint)
    output = Path(output)
    with atomic_directory(output) as tmp:
        encoder.save_pretrained(tmp)
    return output
