"""Shared fixtures: a tiny random Llama and a Llama-3-style tokenizer, built on the fly.

No weights or tokenizers are downloaded: the tokenizer is a small BPE trained
here on a fixed text, with Llama-3's conventions (BOS prepended, no EOS
appended, no pad token), and the model a random ``LlamaForCausalLM``.
Directories are built once per session; tests that modify one copy it first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_BEIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "beir"

_TEXT = [
    "sparse retrieval with large language models uses an inverted index",
    "the quick brown fox jumps over the lazy dog",
    "vitamin d deficiency is associated with bone loss and fractures",
    "protein folding and gene expression in human cells",
    "a query asks a question and a document answers it",
    "dense retrievers need much more memory than sparse ones",
    "learned term weights come from the language model head",
    "statins reduce cholesterol and the risk of heart disease",
    "neural networks learn representations of text for search",
    "the index stores posting lists of document ids and weights",
]

BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"


def build_tokenizer(save_dir: Path, vocab_size: int = 384):
    """Train a byte-level BPE with Llama-3 special tokens; save it as a HF fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_TEXT * 20, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS)
    fast.save_pretrained(save_dir)
    return fast


def build_tiny_llama(save_dir: Path, vocab_size: int, *, seed: int = 0, layers: int = 2):
    """A random-initialised ``LlamaForCausalLM`` small enough for CPU tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=0,
        eos_token_id=1,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(save_dir)
    return model


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A directory holding a tiny random Llama and its tokenizer (treat as read-only)."""
    path = tmp_path_factory.mktemp("tiny_llama")
    tokenizer = build_tokenizer(path)
    build_tiny_llama(path, vocab_size=len(tokenizer))
    return path


@pytest.fixture(scope="session")
def beir_dir() -> Path:
    """``../shared/data/beir``; tests that need real data fail loudly if it is missing."""
    if not SHARED_BEIR.is_dir():
        pytest.fail(f"real BEIR data expected at {SHARED_BEIR} (see shared/data/beir/SOURCES.md)")
    return SHARED_BEIR
