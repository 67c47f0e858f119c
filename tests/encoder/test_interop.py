"""Loading paths: LoRA adapters, Sentence Transformers both ways, BERT MLM and head-less BERT."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from laconic.encoder import SparseEncoder
from laconic.errors import ConfigError


def test_lora_adapter_kept_and_merged_agree(tiny_llama_dir, tmp_path, texts):
    from peft import LoraConfig, get_peft_model

    base = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=0, device="cpu")
    base_vecs = base.encode_documents(texts).to_dense()
    torch.manual_seed(1)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False)
    base.model = get_peft_model(base.model, lora)  # what training does
    trained = base.encode_documents(texts).to_dense()
    base.save_pretrained(tmp_path / "adapter")
    cfg = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == str(tiny_llama_dir)

    merged = SparseEncoder.from_pretrained(tmp_path / "adapter", device="cpu")
    kept = SparseEncoder.from_pretrained(tmp_path / "adapter", merge_lora=False, device="cpu")
    assert hasattr(kept.model, "peft_config") and not hasattr(merged.model, "peft_config")
    assert merged.config.max_terms == 0  # the laconic config travels with the adapter
    a, b = merged.encode_documents(texts).to_dense(), kept.encode_documents(texts).to_dense()
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, trained, atol=1e-5)
    assert np.abs(a - base_vecs).max() > 1e-3  # the adapter changed something


def test_laconic_model_opens_in_sentence_transformers(tiny_llama_dir, tmp_path, texts):
    from sentence_transformers import SparseEncoder as STSparseEncoder

    enc = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=12, device="cpu")
    ours = enc.encode_documents(texts).to_dense()
    enc.save_pretrained(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["is_causal"] is False
    st = STSparseEncoder(str(tmp_path / "m"), device="cpu")
    theirs = st.encode_document(texts, batch_size=2, convert_to_tensor=True).to_dense().numpy()
    np.testing.assert_allclose(theirs, ours, atol=1e-5)
    # bidirectional attention survived the Sentence Transformers load path
    attn = st[0].model.config
    assert attn.is_causal is False


def test_sentence_transformers_splade_opens_in_laconic(bert_mlm_dir, tmp_path, texts):
    from sentence_transformers import SparseEncoder as STSparseEncoder
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sparse_encoder.modules import SpladePooling

    st = STSparseEncoder(
        modules=[Transformer(str(bert_mlm_dir), transformer_task="fill-mask"), SpladePooling("max")],
        max_active_dims=20,
        device="cpu",
    )
    st.save(str(tmp_path / "splade"))
    theirs = st.encode_query(texts, convert_to_tensor=True).to_dense().numpy()
    ours = SparseEncoder.from_pretrained(tmp_path / "splade", device="cpu")
    assert ours.config.backbone == "masked" and ours.config.max_terms == 20
    np.testing.assert_allclose(ours.encode_queries(texts).to_dense(), theirs, atol=1e-5)


def test_bert_mlm_directory_and_round_trip_to_st(bert_mlm_dir, tmp_path, texts):
    from sentence_transformers import SparseEncoder as STSparseEncoder

    enc = SparseEncoder.from_pretrained(bert_mlm_dir, device="cpu", pooling_chunk_size=1000)
    assert enc.config.head == "lm" and enc.vocab_size == 30522
    ours = enc.encode_queries(texts).to_dense()
    with torch.no_grad():  # oracle: the MLM's own full logits
        batch = enc.tokenize(texts, "query")
        logits = enc.model(**batch).logits
        ref = torch.log1p(torch.relu(logits)).masked_fill(batch["attention_mask"][..., None] == 0, 0).amax(1)
        ref = torch.zeros_like(ref).scatter(1, *reversed(ref.topk(512, dim=1)))
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5)
    enc.save_pretrained(tmp_path / "m")
    st = STSparseEncoder(str(tmp_path / "m"), device="cpu")
    np.testing.assert_allclose(st.encode_query(texts, convert_to_tensor=True).to_dense().numpy(), ours, atol=1e-5)


def test_headless_bert_gets_tied_head(minilm_dir, tmp_path, texts):
    enc = SparseEncoder.from_pretrained(minilm_dir, device="cpu", max_terms=64)
    assert enc.config.head == "tied" and enc.config.backbone == "masked"
    assert enc.vocab_size == 30522
    vec = enc.encode_documents(texts[:2])
    assert vec.row_nnz().tolist() == [64, 64]
    with torch.no_grad():  # oracle: hidden states times the input embedding matrix
        batch = enc.tokenize(texts[:2], "document")
        hidden = enc.model(**batch).last_hidden_state
        logits = hidden @ enc.model.get_input_embeddings().weight.T
        ref = torch.log1p(torch.relu(logits)).masked_fill(batch["attention_mask"][..., None] == 0, 0).amax(1)
        ref[:, enc.tokenizer.all_special_ids] = 0  # the tied head masks [CLS], [SEP], ... by default
        ref = torch.zeros_like(ref).scatter(1, *reversed(ref.topk(64, dim=1)))
    np.testing.assert_allclose(vec.to_dense(), ref.numpy(), atol=1e-4)
    assert enc.config.masks_special_tokens
    assert not set(vec.to_dicts()[0]) & set(enc.tokenizer.all_special_ids)
    # a negative logit bias shifts every logit before ReLU: fewer, smaller weights
    enc.config.logit_bias = -2.0
    with torch.no_grad():
        shifted = enc(**batch)
        plain = torch.log1p(torch.relu(logits - 2.0)).masked_fill(batch["attention_mask"][..., None] == 0, 0).amax(1)
        plain[:, enc.tokenizer.all_special_ids] = 0
    np.testing.assert_allclose(shifted.numpy(), plain.numpy(), atol=1e-4)
    assert 0 < (shifted > 0).sum() < (logits.amax(1) > 0).sum()
    enc.config.logit_bias = 0.0
    # fine-tunable: gradients reach the tied embeddings through the head
    enc.train()
    enc(**enc.tokenize(["a query"], "query")).sum().backward()
    assert enc.model.get_input_embeddings().weight.grad.abs().sum() > 0
    enc.eval()
    enc.save_pretrained(tmp_path / "tied")
    again = SparseEncoder.from_pretrained(tmp_path / "tied", device="cpu")
    assert again.config.head == "tied"
    np.testing.assert_allclose(again.encode_documents(texts[:2]).to_dense(), vec.to_dense(), atol=1e-6)


def test_lm_head_required_when_asked(minilm_dir):
    with pytest.raises(ConfigError, match="no LM/MLM head"):
        SparseEncoder.from_pretrained(minilm_dir, head="lm", device="cpu")


def test_causal_attention_refused_for_encoders(bert_mlm_dir):
    with pytest.raises(ConfigError, match="bidirectional=False"):
        SparseEncoder.from_pretrained(bert_mlm_dir, bidirectional=False, device="cpu")
