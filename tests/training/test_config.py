"""TrainingConfig resolution (preset < YAML < flags), validation, presets as SPEC's table."""

from __future__ import annotations

import json

import pytest

from laconic.errors import ConfigError
from laconic.training.config import TrainingConfig, resolve_config
from laconic.training.presets import PRESETS, get_preset


def test_presets_follow_the_released_recipe():
    p1 = get_preset("laconic-1b-phase1")
    assert (p1.passages_per_query, p1.batch_size, p1.grad_accumulation, p1.epochs) == (1, 64, 4, 3)
    assert (p1.query_max_length, p1.document_max_length) == (64, 192)
    assert (p1.lambda_q, p1.lambda_d, p1.lambda_warmup_steps) == (5e-4, 5e-4, 4000)
    assert (p1.lora_r, p1.lora_alpha, p1.lr, p1.warmup_ratio, p1.schedule) == (32, 64, 1e-4, 0.05, "cosine")
    p2 = get_preset("laconic-1b-phase2")
    assert (p2.passages_per_query, p2.batch_size, p2.epochs, p2.lr) == (16, 4, 1, 5e-5)
    assert (p2.query_max_length, p2.document_max_length, p2.lambda_q, p2.lambda_warmup_steps) == (192, 192, 1e-3, 100)
    p8 = get_preset("laconic-8b-phase2")
    assert (p8.batch_size, p8.lora_r, p8.lora_alpha, p8.lr, p8.model) == (1, 16, 32, 1e-4, "meta-llama/Llama-3.1-8B")
    assert set(p1.lora_targets) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert len(PRESETS) == 6
    p1.lr = 1.0  # a copy: the registry is not mutated
    assert get_preset("laconic-1b-phase1").lr == 1e-4


def test_precedence_preset_then_yaml_then_flags(tmp_path):
    cfg_file = tmp_path / "cfg.yaml"
    # '5e-5' is a *string* to YAML 1.1; it must still become a float
    cfg_file.write_text("lr: 5e-5\nbatch_size: 8\nlora_targets: [q_proj, v_proj]\nbf16: false\n")
    cfg = resolve_config("laconic-1b-phase1", cfg_file, {"batch_size": 2, "lr": None, "epochs": None})
    assert cfg.lr == 5e-5 and isinstance(cfg.lr, float)  # yaml beats preset
    assert cfg.batch_size == 2  # flag beats yaml
    assert cfg.epochs == 3  # untouched preset value (None flags are "not given")
    assert cfg.lora_targets == ["q_proj", "v_proj"] and cfg.mixed_precision == "no"  # the old bf16 key still reads
    assert cfg.lambda_warmup_steps == 4000


def test_yaml_may_name_the_preset(tmp_path):
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("preset: laconic-8b-phase2\nlr: 2e-4\n")
    cfg = resolve_config(None, cfg_file)
    assert (cfg.batch_size, cfg.lora_r, cfg.lr) == (1, 16, 2e-4)


def test_bad_config_errors_name_the_key_and_file(tmp_path):
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("learning_rate: 1e-4\n")
    with pytest.raises(ConfigError, match=r"cfg\.yaml.*learning_rate"):
        resolve_config("laconic-1b-phase1", cfg_file)
    cfg_file.write_text("batch_size: lots\n")
    with pytest.raises(ConfigError, match=r"batch_size.*int"):
        resolve_config(None, cfg_file)
    cfg_file.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        resolve_config(None, cfg_file)
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve_config("laconic-2b-phase1")
    with pytest.raises(ConfigError, match="model"):
        TrainingConfig(train_data="x").validate()
    with pytest.raises(ConfigError, match="schedule"):
        TrainingConfig(model="m", train_data="x", schedule="step").validate()


def test_saved_config_round_trips(tmp_path):
    cfg = resolve_config("laconic-3b-phase2", overrides={"model": "m", "train_data": "d", "lr": 3e-5})
    cfg.save(tmp_path)
    assert json.loads((tmp_path / "training_config.json").read_text())["lr"] == 3e-5
    assert not (tmp_path / "config.json").exists()  # Hugging Face's name stays free for the model
    assert TrainingConfig.load(tmp_path) == cfg
    assert TrainingConfig.load(tmp_path / "training_config.yaml") == cfg


def test_cli_flags_override_preset_and_yaml(tmp_path):
    from typer.testing import CliRunner

    from laconic.cli.main import app

    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("lr: 3e-4\nlora_r: 8\n")
    result = CliRunner().invoke(app, ["train", "--preset", "laconic-1b-phase2", "--config", str(cfg_file),
                                      "--lora-r", "4", "--no-gradient-checkpointing", "--lora-targets", "q_proj,k_proj",
                                      "--print-config"])
    assert result.exit_code == 0, result.output
    import yaml

    shown = yaml.safe_load(result.output)
    assert (shown["lr"], shown["lora_r"], shown["gradient_checkpointing"]) == (3e-4, 4, False)
    assert shown["passages_per_query"] == 16 and shown["lora_targets"] == ["q_proj", "k_proj"]
