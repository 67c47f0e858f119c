"""Train a Llama-3-style tokenizer on local corpus text and build a small random Llama.

Why: the Llama path of LACONIC needs a Llama backbone, and no checkpoint can be
downloaded here. We build the smallest honest stand-in: a byte-level BPE trained
on the SciFact + NFCorpus corpus text (never queries), with Llama-3's
conventions (``<|begin_of_text|>`` prepended, no EOS appended, pad = EOS), and a
randomly initialised ``LlamaForCausalLM`` (default: 4 layers, hidden 256) that
the two-phase curriculum then trains from scratch.

Example:
    python experiments/train_tokenizer.py --corpus runs/data/corpus.jsonl --out runs/models/llama-init
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"


def corpus_texts(path: Path):
    """Yield title and text of every corpus document (no queries: they include test queries)."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                doc = json.loads(line)
                yield f"{doc.get('title', '')} {doc.get('text', '')}".strip()


def train_tokenizer(corpus: Path, vocab_size: int):
    """Byte-level BPE (as Llama-3) with BOS prepended by the post-processor and no EOS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=True,
    )
    tok.train_from_iterator(corpus_texts(corpus), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    # pad = EOS, right padding / truncation: the LACONIC tokenizer conventions.
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=EOS,
        padding_side="right", truncation_side="right", model_max_length=512,
    )


def build_model(tokenizer, hidden: int, layers: int, heads: int, seed: int):
    """A random ``LlamaForCausalLM`` sized for CPU training."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 8 // 3 // 64 * 64 + 64,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("runs/data/corpus.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("runs/models/llama-init"))
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    tokenizer = train_tokenizer(args.corpus, args.vocab_size)
    model = build_model(tokenizer, args.hidden, args.layers, args.heads, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(args.out)
    model.save_pretrained(args.out)
    n = sum(p.numel() for p in model.parameters())
    print(f"tokenizer: {len(tokenizer)} tokens; model: {n / 1e6:.1f}M parameters -> {args.out}")


if __name__ == "__main__":
    main()
