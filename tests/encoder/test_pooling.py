"""Chunked pooling against the obvious full-logits oracle, values and gradients."""

from __future__ import annotations

import pytest
import torch

from laconic.encoder.pooling import keep_top_k, pool_term_weights


def oracle(hidden, mask, weight, bias=None):
    """B x L x V logits in one go, log1p(relu) per position, max over real tokens."""
    logits = hidden @ weight.T + (0 if bias is None else bias)
    acts = torch.log1p(torch.relu(logits))
    acts = acts.masked_fill(mask[:, :, None] == 0, float("-inf"))
    return acts.amax(dim=1).clamp_min(0)


def inputs(seed=0, b=3, length=7, h=16, v=101, bias=True):
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(b, length, h, generator=g)
    weight = torch.randn(v, h, generator=g)
    bvec = torch.randn(v, generator=g) if bias else None
    mask = torch.ones(b, length, dtype=torch.long)
    mask[1, 4:] = 0
    mask[2, 1:] = 0
    return hidden, mask, weight, bvec


@pytest.mark.parametrize("chunk", [None, 0, 1, 10, 33, 101, 500])
def test_chunked_equals_oracle(chunk):
    hidden, mask, weight, bias = inputs()
    got = pool_term_weights(hidden, mask, weight, bias, chunk_size=chunk)
    torch.testing.assert_close(got, oracle(hidden, mask, weight, bias), atol=1e-6, rtol=1e-6)
    assert got.dtype == torch.float32 and (got >= 0).all()


def test_padding_never_wins():
    hidden, mask, weight, bias = inputs(bias=False)
    base = pool_term_weights(hidden, mask, weight, chunk_size=10)
    poisoned = hidden.clone()
    poisoned[mask == 0] = 1e4  # huge activations at padding positions only
    torch.testing.assert_close(pool_term_weights(poisoned, mask, weight, chunk_size=10), base)


def test_all_padding_row_is_zero():
    hidden, mask, weight, bias = inputs()
    mask[0] = 0
    assert torch.count_nonzero(pool_term_weights(hidden, mask, weight, bias, chunk_size=8)[0]) == 0


def test_chunked_gradient_equals_unchunked():
    hidden, mask, weight, bias = inputs(seed=3)
    grads = []
    for chunk in (None, 7):
        h = hidden.clone().requires_grad_(True)
        w = weight.clone().requires_grad_(True)
        b = bias.clone().requires_grad_(True)
        out = pool_term_weights(h, mask, w, b, chunk_size=chunk)
        (out * torch.arange(out.shape[1])).sum().backward()  # non-uniform upstream gradient
        grads.append((h.grad, w.grad, b.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert grads[0][0].abs().sum() > 0
    assert torch.all(grads[0][0][mask == 0] == 0)  # no gradient reaches padding


def test_chunked_gradient_matches_oracle_gradient():
    hidden, mask, weight, bias = inputs(seed=5)
    h1 = hidden.clone().requires_grad_(True)
    pool_term_weights(h1, mask, weight, bias, chunk_size=9).sum().backward()
    h2 = hidden.clone().requires_grad_(True)
    oracle(h2, mask, weight, bias).sum().backward()
    torch.testing.assert_close(h1.grad, h2.grad, atol=1e-5, rtol=1e-5)


def test_recompute_checkpoints_chunks():
    """With grad enabled each chunk is checkpointed: its logits are not kept for backward."""
    hidden, mask, weight, bias = inputs(b=3, length=50, v=400)
    h = hidden.clone().requires_grad_(True)
    saved = []

    def pack(t):
        saved.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        pool_term_weights(h, mask, weight, bias, chunk_size=40)
    assert max(saved) < 3 * 50 * 40  # no (B, L, chunk) logits tensor stored
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        pool_term_weights(h, mask, weight, bias, chunk_size=40, recompute=False)
    assert max(saved) >= 3 * 50 * 40


def test_keep_top_k():
    w = torch.tensor([[0.1, 0.5, 0.0, 0.3], [1.0, 2.0, 3.0, 4.0]])
    torch.testing.assert_close(keep_top_k(w, 2), torch.tensor([[0.0, 0.5, 0.0, 0.3], [0.0, 0.0, 3.0, 4.0]]))
    assert keep_top_k(w, None) is w and keep_top_k(w, 0) is w and keep_top_k(w, 9) is w
    x = w.clone().requires_grad_(True)
    keep_top_k(x, 1).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))
