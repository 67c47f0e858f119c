"""LoRA adapters via peft (attach for training, save as a loadable adapter, merge for release).

``get_peft_model`` injects LoRA layers into the backbone *in place*, so
``encoder.model`` stays the same module (now adapted) and the encoder's own
forward (bidirectional attention, chunked pooling) is untouched; the returned
``PeftModel`` is kept only to write adapters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from laconic.errors import ConfigError, InputError
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
    base = Path(config.model)
    # the saved adapter names its base as the user gave it (a Hub id stays a Hub id, a folder becomes absolute)
    peft_model.peft_config["default"].base_model_name_or_path = str(base.resolve()) if base.exists() else config.model
    return peft_model


def write_adapter(directory: Path, encoder: Any, peft_model: Any, trainable: dict[str, torch.Tensor]) -> None:
    """A LoRA checkpoint that ``SparseEncoder.from_pretrained`` loads: adapter + encoder config + tokenizer.

    ``trainable`` holds the whole adapter weights by encoder parameter name
    (``model.<inner>``), as gathered from every rank; peft names them
    ``base_model.model.<inner>``.
    """
    state = {"base_model.model." + name.removeprefix("model."): value for name, value in trainable.items()}
    peft_model.save_pretrained(directory, state_dict=state)
    encoder.tokenizer.save_pretrained(directory)
    encoder.config.save(directory)


def load_encoder(config: TrainingConfig, *, device: Any = None, dtype: Any = None) -> Any:
    """The encoder a run trains: ``config.model`` with its own saved settings, bidirectional as configured."""
    from laconic.encoder import SparseEncoder

    encoder = SparseEncoder.from_pretrained(
        config.model, device=device, dtype=dtype, bidirectional=config.bidirectional,
        tokenizer=config.tokenizer, profile=config.profile,
    )
    return encoder


def trained_encoder(run_dir: str | Path, checkpoint: str | Path | None = None) -> Any:
    """The trained encoder of a run (LoRA merged into the weights), on CPU in fp32.

    ``final/`` and every checkpoint are encoders already; this only picks one
    and folds LoRA in.
    """
    from laconic.encoder import SparseEncoder

    source = Path(checkpoint) if checkpoint is not None else Path(run_dir) / "final"
    if not source.is_dir():
        raise InputError("no trained encoder here: the run did not finish; pass --checkpoint", path=source)
    if (source / "trainable.pt").is_file() and not any((source / f).is_file() for f in ("adapter_config.json", "laconic_config.json")):
        raise InputError("written by an older laconic (trainable.pt only); merge it with the version that trained it", path=source)
    return SparseEncoder.from_pretrained(source, device="cpu", dtype="float32", merge_lora=True).eval()


def merge_run(run_dir: str | Path, output: str | Path, checkpoint: str | Path | None = None) -> Path:
    """Write a plain encoder checkpoint (LoRA merged) that ``SparseEncoder.from_pretrained`` loads.

    The encoder's settings (bidirectional attention, max terms, lengths) come
    from the run's saved ``EncoderConfig``; the write is atomic.
    """
    return trained_encoder(run_dir, checkpoint).save_pretrained(output)
