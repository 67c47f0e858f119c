"""The training loop on CPU: exact resume, FLOPS sparsifies, LoRA merge, metrics and checkpoints."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from laconic.errors import ConfigError
from laconic.training import checkpoint as ckpt
from laconic.training.config import resolve_config
from laconic.training.loop import train
from laconic.training.tracking import read_metrics


class Interrupt(Exception):
    pass


def _lora_config(tiny_overrides, tiny_llama_dir, pairs_file, out, **extra):
    values = tiny_overrides(tiny_llama_dir, pairs_file, out, max_steps=6, save_every=2, lr=5e-3,
                            lora_r=4, lora_alpha=8, lora_dropout=0.2, warmup_ratio=0.2, keep_checkpoints=2)
    values.update(extra)
    return resolve_config("laconic-1b-phase1", overrides=values)


def test_interrupted_and_resumed_run_equals_uninterrupted(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path, monkeypatch):
    straight = train(_lora_config(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "a"))

    real_save = ckpt.save_checkpoint

    def crash_after_step_4(*args, **kwargs):
        path = real_save(*args, **kwargs)
        if args[1].step == 4:
            raise Interrupt("simulated crash right after the step-4 checkpoint")
        return path

    monkeypatch.setattr(ckpt, "save_checkpoint", crash_after_step_4)
    with pytest.raises(Interrupt):
        train(_lora_config(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "b"))
    monkeypatch.setattr(ckpt, "save_checkpoint", real_save)
    assert [p.name for p in ckpt.checkpoint_dirs(tmp_path / "b")] == ["step-00000002", "step-00000004"]
    with pytest.raises(ConfigError, match="--resume"):
        train(_lora_config(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "b"))
    resumed = train(_lora_config(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "b", resume=True))

    a = load_file(straight / "final" / "adapter_model.safetensors")
    b = load_file(resumed / "final" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and len(a) > 4 and all("lora_" in k for k in a)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=1e-7, msg=name)
    # the metrics log is continuous too: one record per step, same losses
    ma, mb = read_metrics(straight), read_metrics(resumed)
    assert [r["step"] for r in mb] == list(range(1, 7))
    assert [r["ranking"] for r in mb] == pytest.approx([r["ranking"] for r in ma], rel=1e-6)
    # keep_checkpoints=2: only the last two survive
    assert [p.name for p in ckpt.checkpoint_dirs(resumed)] == ["step-00000004", "step-00000006"]
    assert (resumed / "training_config.json").is_file() and (resumed / "training_config.yaml").is_file()
    assert (resumed / "final" / "adapter_config.json").is_file() and not (resumed / "final" / "optimizer.pt").exists()


def test_metrics_record_every_knob(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    out = train(resolve_config("laconic-1b-phase1", overrides=tiny_overrides(
        tiny_llama_dir, pairs_file, tmp_path / "m", max_steps=2, lora=False, gradcache=True,
        gradcache_chunk_size=3, grad_accumulation=2, lambda_warmup_steps=2, lr=1e-3)))
    records = read_metrics(out)
    assert [r["step"] for r in records] == [1, 2]
    keys = {"loss", "ranking", "flops_q", "flops_d", "lambda_q", "lambda_d", "nnz_q", "nnz_d", "lr",
            "samples_per_s", "tokens_per_s", "epoch"}
    assert keys <= records[0].keys()
    assert records[0]["lambda_q"] == 0.0 and records[1]["lambda_q"] == pytest.approx(5e-4 * 0.25)
    assert records[1]["loss"] == pytest.approx(records[1]["ranking"] + records[1]["lambda_q"] * records[1]["flops_q"]
                                               + records[1]["lambda_d"] * records[1]["flops_d"], rel=1e-5)
    assert records[0]["samples_per_s"] > 0 and records[0]["tokens_per_s"] > records[0]["samples_per_s"]


def test_flops_weight_gives_sparser_vectors(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    def run(lam, name):
        out = train(resolve_config("laconic-1b-phase1", overrides=tiny_overrides(
            tiny_llama_dir, pairs_file, tmp_path / name, max_steps=8, lora=False, lr=3e-3,
            lambda_q=lam, lambda_d=lam, lambda_warmup_steps=0)))
        return read_metrics(out)[-1]

    dense, sparse = run(0.0, "dense"), run(0.5, "sparse")
    assert sparse["nnz_d"] < 0.7 * dense["nnz_d"]
    assert sparse["nnz_q"] < 0.7 * dense["nnz_q"]


def test_lora_merge_equals_adapted_model(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path):
    """``merge`` folds the adapter in: same vectors as the trained (unmerged) LoRA model."""
    from laconic.encoder import SparseEncoder
    from laconic.training.adapters import attach_lora, load_encoder, merge_run

    config = _lora_config(tiny_overrides, tiny_llama_dir, pairs_file, tmp_path / "run", max_steps=3, save_every=0, lr=5e-2)
    out = train(config)
    merged_dir = merge_run(out, tmp_path / "merged")

    adapted = load_encoder(config, device="cpu", dtype=torch.float32)
    attach_lora(adapted, config)
    adapted.load_state_dict(torch.load(ckpt.latest_checkpoint(out) / "trainable.pt"), strict=False)
    merged = SparseEncoder.from_pretrained(merged_dir, device="cpu")
    base = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    assert merged.config.bidirectional and merged.config.max_terms == base.config.max_terms
    texts = ["vitamin d deficiency", "statins reduce cholesterol and the risk of heart disease"]
    batch = adapted.tokenize(texts, "document")
    with torch.no_grad():
        want = adapted.eval()(batch["input_ids"], batch["attention_mask"])
        got = merged(batch["input_ids"], batch["attention_mask"])
        untrained = base(batch["input_ids"], batch["attention_mask"])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(got, untrained, atol=1e-3)  # training changed something


def test_unknown_lora_targets_are_a_config_error(tiny_llama_dir):
    from laconic.encoder import SparseEncoder
    from laconic.training.adapters import attach_lora
    from laconic.training.config import TrainingConfig

    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    with pytest.raises(ConfigError, match="lora_targets"):
        attach_lora(encoder, TrainingConfig(lora_targets=["query", "value"]))  # BERT names, not Llama's
