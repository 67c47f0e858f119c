"""Gradient caching gives the plain full-batch gradients (tiny Llama, full fine-tuning and LoRA)."""

from __future__ import annotations

import copy

import pytest
import torch

from laconic.training.gradcache import gradcache_step
from laconic.training.losses import laconic_loss

QUERIES = ["vitamin d and bone loss", "statins and heart disease", "gene expression", "the lazy dog"]
PASSAGES = [f"{q} passage {j} about retrieval and proteins" for q in QUERIES for j in range(3)]  # n = 3


def _grads(encoder, chunk_size=None):
    encoder.zero_grad(set_to_none=True)
    q = encoder.tokenize(QUERIES, "query", 16)
    p = encoder.tokenize(PASSAGES, "document", 24)
    loss_fn = lambda a, b: laconic_loss(a, b, lambda_q=0.05, lambda_d=0.02)  # noqa: E731
    embed = lambda x: encoder(x["input_ids"], x["attention_mask"])  # noqa: E731
    if chunk_size is None:
        parts = loss_fn(embed(q), embed(p))
        (parts.total * 0.5).backward()
    else:
        parts, _, _ = gradcache_step(embed, q, p, loss_fn, chunk_size=chunk_size, scale=0.5)
    return parts, {n: t.grad.clone() for n, t in encoder.named_parameters() if t.grad is not None}


@pytest.fixture(scope="module")
def encoder(tiny_llama_dir):
    from laconic.encoder import SparseEncoder

    enc = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", dtype=torch.float32)
    enc.config.pooling_chunk_size = 100  # several vocabulary chunks (vocab 384), recomputed in backward
    return enc.train()


@pytest.mark.parametrize("chunk_size", [1, 5])
def test_gradcache_matches_plain_full_finetuning(encoder, chunk_size):
    plain_parts, plain = _grads(encoder)
    cached_parts, cached = _grads(encoder, chunk_size)
    assert cached_parts.ranking == pytest.approx(plain_parts.ranking, rel=1e-5)
    assert plain.keys() == cached.keys() and len(plain) > 10
    for name in plain:
        torch.testing.assert_close(cached[name], plain[name], rtol=1e-4, atol=1e-6, msg=name)


def test_gradcache_matches_plain_with_lora_dropout(encoder):
    """Dropout draws differ per chunk; the cache replays each chunk's RNG state, so masks match."""
    from laconic.training.adapters import attach_lora
    from laconic.training.config import TrainingConfig

    enc = copy.deepcopy(encoder)
    attach_lora(enc, TrainingConfig(lora_r=4, lora_alpha=8, lora_dropout=0.3))
    with torch.no_grad():  # LoRA B starts at zero; make the adapters matter
        for name, param in enc.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    # chunk = whole batch side, so the plain pass and the cache draw dropout in the same order
    torch.manual_seed(5)
    _, plain = _grads(enc)
    torch.manual_seed(5)
    _, cached = _grads(enc, chunk_size=len(PASSAGES))
    assert all("lora_" in n for n in plain) and plain
    for name in plain:
        torch.testing.assert_close(cached[name], plain[name], rtol=1e-4, atol=1e-6, msg=name)


def test_gradcache_with_fp16_autocast_and_loss_scaler(encoder):
    """fp16: the scaler multiplies the loss once (step 2); the replayed chunks inherit that scale.

    Oracle: the plain batch under the same autocast and scaler. After
    ``unscale_`` both must agree, and before it the cached gradients must carry
    exactly one factor of the scale (a second factor, or none, would fail).
    """
    scale = 2.0 ** 12
    q = encoder.tokenize(QUERIES, "query", 16)
    p = encoder.tokenize(PASSAGES, "document", 24)
    loss_fn = lambda a, b: laconic_loss(a, b, lambda_q=0.05, lambda_d=0.02)  # noqa: E731

    def embed(x):
        with torch.autocast("cpu", dtype=torch.float16):
            return encoder(x["input_ids"], x["attention_mask"]).float()

    def grads(cached: bool) -> tuple[dict, dict]:
        encoder.zero_grad(set_to_none=True)
        scaler = torch.amp.GradScaler("cpu", init_scale=scale)
        optimizer = torch.optim.SGD(encoder.parameters(), lr=0.0)
        if cached:
            gradcache_step(embed, q, p, loss_fn, chunk_size=5, backward=lambda loss: scaler.scale(loss).backward())
        else:
            scaler.scale(loss_fn(embed(q), embed(p)).total).backward()
        raw = {n: t.grad.clone() for n, t in encoder.named_parameters() if t.grad is not None}
        scaler.unscale_(optimizer)
        return raw, {n: t.grad.clone() for n, t in encoder.named_parameters() if t.grad is not None}

    _, plain = grads(cached=False)
    raw, cached = grads(cached=True)
    assert plain.keys() == cached.keys() and len(plain) > 10
    for name in plain:  # fp16 rounding differs with the chunking: compare each tensor as a whole
        ref = plain[name].norm()
        assert float((cached[name] - plain[name]).norm() / ref) < 2e-3, name  # measured: <= 4e-4
        assert float((raw[name] - plain[name] * scale).norm() / (ref * scale)) < 2e-3, name
