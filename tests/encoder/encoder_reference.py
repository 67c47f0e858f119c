"""An independent reference encoder, written from SPEC's conventions with plain transformers.

It shares no code with ``laconic.encoder``: explicit strings in (the caller writes
any prefix), ``add_special_tokens=False`` by default, right truncation to
``max_length`` tokens, a fresh ``LlamaForCausalLM`` fed an explicit 4D
bidirectional mask (every position attends to every real key, padding keys
masked), full B x L x V logits, then ``max_i log(1 + ReLU(H_i))`` over real
positions and the top-k.
"""

from __future__ import annotations

import numpy as np
import torch


def reference_vectors(
    model_dir, texts, top_k=None, max_length=255, *, add_special_tokens=False, tokenizer_dir=None
) -> np.ndarray:
    """(B, V) dense float32 term weights of ``texts`` (already formatted: prefixes included)."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir or model_dir)
    rows = [
        tok(t, truncation=True, max_length=max_length, add_special_tokens=add_special_tokens)["input_ids"] for t in texts
    ]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tok.eos_token_id)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    bias = torch.zeros(len(rows), 1, width, width)
    bias.masked_fill_(mask[:, None, None, :] == 0, torch.finfo(torch.float32).min)
    model = LlamaForCausalLM.from_pretrained(model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=bias).logits  # (B, L, V)
    acts = torch.log1p(torch.relu(logits)).masked_fill(mask[:, :, None] == 0, 0.0)
    dense = acts.amax(dim=1)
    if top_k and top_k < dense.shape[1]:
        vals, idx = dense.topk(top_k, dim=1)
        vals = torch.where(vals > 0, vals, torch.zeros_like(vals))
        dense = torch.zeros_like(dense).scatter(1, idx, vals)
    return dense.numpy()


def reference_input_ids(tokenizer_dir, texts, max_length=255, add_special_tokens=False) -> list[list[int]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    return [tok(t, truncation=True, max_length=max_length, add_special_tokens=add_special_tokens)["input_ids"] for t in texts]
