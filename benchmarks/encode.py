"""Encoding throughput and peak memory on CPU: chunked vs unchunked vocabulary pooling.

Question: what does chunked pooling (``pooling_chunk_size``, default 8192 columns)
cost in speed and save in memory, for a Llama-3.2-1B-shaped model (hidden 2048,
16 layers, 32 heads, 8 KV heads, intermediate 8192, vocab 128,256; random
weights built from a config, nothing downloaded) and for a small model with the
same vocabulary?

Each (model, pooling) run happens in a fresh subprocess so its peak memory is its
own. Peak memory is the process RSS sampled every 2 ms by a thread (psutil) while
``encode_documents`` runs, minus the RSS before the first encode: that is the working set
of encoding on top of the loaded weights (torch's CPU allocator does not go
through ``tracemalloc``, so RSS is the honest measure). Throughput is documents/s
over the timed documents, after a warm-up batch of the same shape, median of
``--repeats``. The RSS baseline is taken after the model is built and before the
warm-up (the allocator keeps freed pages, so a later baseline would hide the peak).

Documents are SciFact abstracts (title + text) tokenised by a small byte-level BPE
trained here (we have no Llama-3 tokenizer offline); nearly all exceed 256 tokens, so
every document is truncated to exactly 256 tokens as at evaluation time. Token ids
only select embedding rows, so compute and memory equal those of the real tokenizer.

Usage:
    nice -n 10 python benchmarks/encode.py                  # both models
    nice -n 10 python benchmarks/encode.py --models small   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BEIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir"

MODELS = {
    # name: (LlamaConfig kwargs, documents, batch size)
    "llama-1b-shape": (
        dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
             intermediate_size=8192, vocab_size=128256, tie_word_embeddings=True),
        2, 2,
    ),
    "small": (
        dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=1024, vocab_size=128256, tie_word_embeddings=False),
        32, 16,
    ),
}


def documents(n: int) -> list[dict]:
    """The first ``n`` SciFact documents as BEIR dicts."""
    docs = []
    with open(BEIR / "scifact" / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            docs.append(json.loads(line))
            if len(docs) == n:
                break
    return docs


def build_tokenizer(directory: Path, texts: list[str]) -> None:
    """A Llama-3-style byte-level BPE (BOS prepended, no EOS appended) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<s>", "</s>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)])
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>").save_pretrained(directory)


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def child(args: argparse.Namespace) -> None:
    """One measurement in this process; prints one JSON line."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from laconic.encoder import EncoderConfig, SparseEncoder
    from laconic.encoder.tokenization import prepare_tokenizer

    torch.set_num_threads(args.threads)
    cfg_kwargs, n_docs, batch = MODELS[args.model]
    docs = documents(n_docs + batch)  # the first batch is the warm-up
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(max_position_embeddings=512, **cfg_kwargs)).eval()
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(args.tokenizer))
    config = EncoderConfig(pooling_chunk_size=args.chunk, document_max_length=256)
    enc = SparseEncoder(model, tokenizer, config)

    # RSS baseline before any encoding: the allocator keeps freed pages, so a
    # baseline taken after the warm-up would hide the warm-up's (equal) peak.
    base, peak, stop = rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    enc.encode_documents(docs[:batch], batch_size=batch)  # warm-up, same shapes as the timed batches
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        out = enc.encode_documents(docs[batch:], batch_size=batch)
        times.append(time.perf_counter() - start)
    stop.set()
    sampler.join()
    lengths = enc.tokenize([d["title"] + " " + d["text"] for d in docs[batch:]], "document")["attention_mask"].sum(1)
    print(json.dumps({
        "model": args.model, "chunk": args.chunk, "docs": n_docs, "batch": batch,
        "median_s": statistics.median(times), "docs_per_s": n_docs / statistics.median(times),
        "peak_extra_mb": (peak[0] - base) / 2**20, "model_rss_mb": base / 2**20,
        "mean_tokens": float(lengths.float().mean()), "mean_nnz": out.nnz / len(out),
        "logits_mb_unchunked": batch * 256 * cfg_kwargs["vocab_size"] * 4 / 2**20,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--chunks", nargs="+", type=int, default=[8192, 0], help="0 = unchunked")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        texts = [d["title"] + " " + d["text"] for d in documents(2000)]
        build_tokenizer(Path(tmp), texts)
        for model in args.models:
            for chunk in args.chunks:
                cmd = [sys.executable, __file__, "--child", "--model", model, "--chunk", str(chunk),
                       "--tokenizer", tmp, "--threads", str(args.threads), "--repeats", str(args.repeats)]
                res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
                if res.returncode != 0:
                    sys.exit(f"{model} chunk={chunk} failed:\n{res.stderr[-3000:]}")
                rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
                print(f"done: {model} chunk={chunk or 'none'}", file=sys.stderr, flush=True)

    print(f"# laconic encode benchmark  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads={args.threads}")
    print(f"# command: {' '.join(sys.argv)}")
    print()
    print("| model | pooling | docs x tokens | batch | docs/s | peak extra RSS (MB) | B x L x V logits (MB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        pooling = f"chunked {r['chunk']}" if r["chunk"] else "unchunked"
        print(f"| {r['model']} | {pooling} | {r['docs']} x {r['mean_tokens']:.0f} | {r['batch']} "
              f"| {r['docs_per_s']:.3f} | {r['peak_extra_mb']:.0f} | {r['logits_mb_unchunked']:.0f} |")
    print()
    for model in args.models:
        by = {r["chunk"]: r for r in rows if r["model"] == model}
        if 0 in by and len(by) > 1:
            for chunk, r in by.items():
                if chunk:
                    print(f"{model}: chunked/unchunked speed {r['docs_per_s'] / by[0]['docs_per_s']:.2f}x, "
                          f"peak memory {r['peak_extra_mb'] / max(by[0]['peak_extra_mb'], 1):.2f}x")


if __name__ == "__main__":
    main()
