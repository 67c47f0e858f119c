"""SparseEncoder on a tiny Llama against a reference built directly with transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from laconic.encoder import EncoderConfig, SparseEncoder
from laconic.sparse import SparseVectors
from encoder_reference import reference_vectors


def test_matches_reference_mixed_lengths(llama_encoder, tiny_llama_dir, texts):
    got = llama_encoder.encode_queries(texts, batch_size=2)
    ref = reference_vectors(tiny_llama_dir, ["query: " + t for t in texts])
    np.testing.assert_allclose(got.to_dense(), ref, atol=1e-5)
    assert got.nnz > 0 and len(got) == len(texts)


def test_matches_reference_with_top_k(tiny_llama_dir, texts):
    enc = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=7, device="cpu", pooling_chunk_size=50)
    got = enc.encode_documents(texts, batch_size=3)
    np.testing.assert_allclose(got.to_dense(), reference_vectors(tiny_llama_dir, ["passage: " + t for t in texts], top_k=7), atol=1e-5)
    assert got.row_nnz().max() == 7


def test_forward_chunked_equals_unchunked(llama_encoder, texts):
    enc = llama_encoder
    batch = enc.tokenize(texts, "document")
    with torch.no_grad():
        a = enc(**batch)
        old = enc.config.pooling_chunk_size
        try:
            enc.config.pooling_chunk_size = 37
            b = enc(**batch)
        finally:
            enc.config.pooling_chunk_size = old
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    assert a.shape == (len(texts), enc.vocab_size)


def test_forward_is_differentiable(tiny_llama_dir, texts):
    enc = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", pooling_chunk_size=64)
    batch = enc.tokenize(texts[:2], "query")
    enc(**batch, top_k=20).sum().backward()
    grad = enc.model.get_input_embeddings().weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_order_and_batching_do_not_matter(llama_encoder, texts):
    together = llama_encoder.encode_queries(texts, batch_size=2).to_dense()
    alone = np.vstack([llama_encoder.encode_query(t).to_dense() for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_token_budget_batches_give_the_same_vectors(llama_encoder, texts):
    from laconic.encoder.model import _batch_spans

    budget = llama_encoder.encode_documents(texts, max_tokens=40).to_dense()
    alone = np.vstack([llama_encoder.encode_document(t).to_dense() for t in texts])
    np.testing.assert_allclose(budget, alone, atol=1e-5)
    lengths = [30, 30, 12, 10, 9, 3, 3, 2]  # longest first, as encode sorts them
    spans = _batch_spans(lengths, 32, 40)
    assert spans[0] == (0, 1) and spans[-1][1] == len(lengths)  # a 30-token text alone; all covered
    assert all((hi - lo) * lengths[lo] <= 40 or hi - lo == 1 for lo, hi in spans)
    assert [hi - lo for lo, hi in spans] == [1, 1, 3, 3]
    with pytest.raises(ValueError, match="max_tokens"):
        llama_encoder.encode_documents(texts, max_tokens=0)


def test_padding_never_contributes(llama_encoder):
    """The same text alone, or padded next to a long one, or with other pad embeddings: same vector."""
    short, long = "vitamin d", "the quick brown fox jumps over the lazy dog " * 3
    alone = llama_encoder.encode_queries([short]).to_dense()
    padded = llama_encoder.encode_queries([short, long], batch_size=2)[0].to_dense()
    np.testing.assert_allclose(alone, padded, atol=1e-5)
    emb = llama_encoder.model.get_input_embeddings().weight
    pad = llama_encoder.tokenizer.pad_token_id
    saved = emb.data[pad].clone()
    try:
        with torch.no_grad():
            emb[pad] = 100.0
        repadded = llama_encoder.encode_queries([short, long], batch_size=2)[0].to_dense()
    finally:
        with torch.no_grad():
            emb[pad] = saved
    np.testing.assert_allclose(alone, repadded, atol=1e-5)


def first_position_logits(enc, ids):
    out = enc.model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    return out.logits[0, 0]


@pytest.mark.parametrize("bidirectional", [True, False])
def test_bidirectional_attention(tiny_llama_dir, bidirectional):
    enc = SparseEncoder.from_pretrained(tiny_llama_dir, bidirectional=bidirectional, device="cpu")
    assert enc.config.bidirectional is bidirectional
    with torch.no_grad():
        a = first_position_logits(enc, [0, 10, 11, 12])
        b = first_position_logits(enc, [0, 10, 11, 13])  # only the last token differs
    assert (not torch.allclose(a, b)) is bidirectional


def test_tokenization_conventions(llama_encoder):
    tok = llama_encoder.tokenizer
    assert tok.pad_token_id == tok.eos_token_id and tok.padding_side == "right"
    batch = llama_encoder.tokenize(["a query", "the quick brown fox jumps"], "query")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    # the tokenizer's own post-processor prepends BOS; the LACONIC profile must not
    assert tok("a query")["input_ids"][0] == tok.bos_token_id
    assert tok.bos_token_id not in ids.tolist()[0] + ids.tolist()[1]
    assert ids[0, : int(mask[0].sum())].tolist() == tok("query: a query", add_special_tokens=False)["input_ids"]
    assert tok.eos_token_id not in ids[1].tolist()
    assert mask[0].tolist() == sorted(mask[0].tolist(), reverse=True) and mask[0, -1] == 0  # right padded
    long = llama_encoder.tokenize(["word " * 400], "document", max_length=16)["input_ids"]
    assert long.shape == (1, 15)  # a 16-token budget keeps 15, as the authors' code does
    full = llama_encoder.tokenizer("passage: " + "word " * 400, add_special_tokens=False)["input_ids"]
    assert long[0].tolist() == full[:15]  # right truncation keeps the beginning


def test_save_load_round_trip(tiny_llama_dir, tmp_path, texts):
    enc = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=9, query_max_length=12, device="cpu")
    before = enc.encode_queries(texts)
    enc.save_pretrained(tmp_path / "saved")
    again = SparseEncoder.from_pretrained(tmp_path / "saved", device="cpu")
    assert again.config == enc.config
    assert again.config.max_terms == 9 and again.config.query_max_length == 12
    np.testing.assert_array_equal(again.encode_queries(texts).to_dense(), before.to_dense())
    loaded_cfg = EncoderConfig.load(tmp_path / "saved")
    assert loaded_cfg == enc.config


def test_encode_outputs_ids_and_valid_csr(llama_encoder, texts):
    ids = [f"q{i}" for i in range(len(texts))]
    vec = llama_encoder.encode_queries(texts, ids=ids)
    assert vec.ids == ids and vec.vocab_size == llama_encoder.vocab_size
    SparseVectors(vec.indptr, vec.indices, vec.values, vec.vocab_size)  # validates invariants
    assert len(llama_encoder.encode_queries([])) == 0
    with pytest.raises(ValueError):
        llama_encoder.encode_queries(texts, ids=["x"])


def test_documents_join_title_and_text(llama_encoder):
    a = llama_encoder.encode_documents([{"title": "Vitamin D", "text": "bone loss"}]).to_dense()
    b = llama_encoder.encode_documents(["Vitamin D bone loss"]).to_dense()
    np.testing.assert_array_equal(a, b)


def test_decode_sorted_by_weight(llama_encoder):
    vec = llama_encoder.encode_query("statins reduce cholesterol")
    pairs = llama_encoder.decode(vec, top_k=5)
    assert len(pairs) == 5 and all(isinstance(t, str) for t, _ in pairs)
    weights = [w for _, w in pairs]
    assert weights == sorted(weights, reverse=True)
    idx, vals = vec.row(0)
    assert weights[0] == pytest.approx(float(vals.max()))
    assert pairs[0][0] == llama_encoder.tokenizer.convert_ids_to_tokens(int(idx[vals.argmax()]))
    assert len(llama_encoder.decode(llama_encoder.encode_queries(["a", "b"]))) == 2


def test_threads_option_is_restored(llama_encoder):
    before = torch.get_num_threads()
    llama_encoder.encode_queries(["a query"], threads=1)
    assert torch.get_num_threads() == before


def test_encode_uses_eval_mode_and_restores_training(tiny_llama_dir):
    enc = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    enc.train()
    enc.encode_queries(["a query"])
    assert enc.training and enc.model.training


@pytest.mark.parametrize("k", [0, 2, 5, 40])
def test_to_sparse_keeps_each_rows_top_k_positive_weights(k):
    """Rows with fewer positives than k (the mask path) and more (the topk path), in one batch."""
    from laconic.encoder.model import _to_sparse

    gen = np.random.default_rng(0)
    dense = gen.normal(size=(6, 60)).astype(np.float32)
    dense[0] = 0.0  # nothing positive
    dense[1, dense[1] > 0] = 0.0
    dense[1, [7, 3, 50]] = [0.5, 2.0, 1.0]  # three positives
    got = _to_sparse(torch.from_numpy(dense), k).to_dense()
    want = np.zeros_like(dense)
    for i, row in enumerate(dense):  # oracle: the k largest positive weights, by brute force
        positive = [j for j in np.argsort(-row) if row[j] > 0]
        for j in positive[: k or None]:
            want[i, j] = row[j]
    np.testing.assert_array_equal(got, want)
    dense[3, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        _to_sparse(torch.from_numpy(dense), k)
