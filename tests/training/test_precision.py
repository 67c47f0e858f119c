"""Mixed precision: fp32 master weights under bf16 autocast; fp16 only with a loss scaler; refused combinations."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from accelerate.utils import DistributedType
from safetensors.torch import load_file

from laconic.errors import ConfigError
from laconic.training import checkpoint as ckpt
from laconic.training.config import TrainingConfig, resolve_config
from laconic.training.loop import check_setup, train
from laconic.training.tracking import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def _run(tiny_overrides, tiny_llama_dir, pairs_file, out, **extra):
    values = tiny_overrides(tiny_llama_dir, pairs_file, out, max_steps=3, lr=5e-3, lora=False, save_every=0, **extra)
    return train(resolve_config("laconic-1b-phase1", overrides=values))


def test_bf16_autocast_keeps_fp32_master_weights(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    fp32 = _run(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "fp32", mixed_precision="no")
    bf16 = _run(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "bf16", mixed_precision="bf16")
    weights = load_file(bf16 / "final" / "model.safetensors")
    assert {v.dtype for v in weights.values()} == {torch.float32}  # what the optimiser updated
    moments = ckpt.load_checkpoint(ckpt.latest_checkpoint(bf16)).optimizer["state"]
    assert {v.dtype for s in moments.values() for k, v in s.items() if k != "step"} == {torch.float32}
    a = [r["ranking"] for r in read_metrics(fp32)]
    b = [r["ranking"] for r in read_metrics(bf16)]
    assert b == pytest.approx(a, rel=5e-2)  # the same training ...
    assert b != pytest.approx(a, rel=1e-6)  # ... computed in bf16 (autocast really on)


def test_fp16_without_a_loss_scaler_is_refused(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    """On CPU accelerate gives no scaler; fp16 gradients would underflow silently."""
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        _run(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "fp16", mixed_precision="fp16")
    assert not (tmp_path / "fp16" / "checkpoints").exists()


def test_gradcache_under_deepspeed_is_refused():
    deepspeed = SimpleNamespace(scaler=None, distributed_type=DistributedType.DEEPSPEED)
    with pytest.raises(ConfigError, match="DeepSpeed"):
        check_setup(TrainingConfig(gradcache=True), deepspeed, "bf16")
    check_setup(TrainingConfig(gradcache=False), deepspeed, "bf16")  # without the cache it is fine


def test_unknown_precision_names_the_choices():
    with pytest.raises(ConfigError, match="auto|bf16|fp16|no"):
        TrainingConfig(model="m", train_data="d", mixed_precision="fp8").validate()


@pytest.mark.parametrize("name, kind", [("ddp", "MULTI_GPU"), ("fsdp", "FSDP"), ("deepspeed-zero2", "DEEPSPEED"),
                                        ("deepspeed-zero3", "DEEPSPEED")])
def test_shipped_accelerate_configs_are_what_accelerate_reads(name, kind):
    from accelerate.commands.config.config_args import load_config_from_file

    path = ROOT / "configs" / "accelerate" / f"{name}.yaml"
    config = load_config_from_file(str(path))
    assert str(config.distributed_type.value) == kind and config.mixed_precision == "bf16"
    raw = yaml.safe_load(path.read_text())
    if kind == "DEEPSPEED":
        assert raw["deepspeed_config"]["zero_stage"] == int(name[-1])
    if kind == "FSDP":
        assert config.fsdp_config["fsdp_version"] == 2
