"""The paper's 2,048-pair contrastive batch on one device: peak memory with and without the gradient cache.

Each measurement runs in a fresh child process (peak RSS is per process): a
random Llama-architecture encoder is built, one InfoNCE + FLOPS step is taken
on ``pairs`` (query, passage) pairs, and the growth of peak RSS over the
process's state just before the step is reported. The gradient cache keeps one
chunk of activations plus the ``(rows, vocab)`` vectors; the plain step keeps
every text's activations. Where the plain step also runs, the gradients of
both are compared (relative L2 difference of the whole gradient).

Usage:
    python benchmarks/gradcache_memory.py                      # 256, 1024, 2048 pairs; plain up to 1024
    python benchmarks/gradcache_memory.py --pairs 256 512 --plain-max 512
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CHILD = "--child"


def measure(pairs: int, mode: str, args: argparse.Namespace, grads_out: Path | None) -> dict:
    """One step in this process; returns peak-RSS growth (MiB) and seconds."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from laconic.encoder import EncoderConfig, SparseEncoder
    from laconic.training.gradcache import gradcache_step
    from laconic.training.losses import laconic_loss

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    config = LlamaConfig(vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=4 * args.hidden,
                         num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, tie_word_embeddings=False)
    encoder = SparseEncoder(LlamaForCausalLM(config), tokenizer=None,
                            config=EncoderConfig(head="lm", backbone="causal", bidirectional=True,
                                                 pooling_chunk_size=args.pooling_chunk)).train()
    gen = torch.Generator().manual_seed(1)

    def batch(rows: int, length: int) -> dict[str, torch.Tensor]:
        ids = torch.randint(2, args.vocab, (rows, length), generator=gen)
        lengths = torch.randint(length // 2, length + 1, (rows,), generator=gen)
        mask = (torch.arange(length)[None, :] < lengths[:, None]).long()
        return {"input_ids": ids * mask, "attention_mask": mask}

    q, p = batch(pairs, args.query_length), batch(pairs, args.doc_length)
    loss_fn = lambda a, b: laconic_loss(a, b, lambda_q=1e-3, lambda_d=1e-3)  # noqa: E731
    embed = lambda x: encoder(x["input_ids"], x["attention_mask"])  # noqa: E731
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if mode == "gradcache":
        gradcache_step(embed, q, p, loss_fn, chunk_size=args.chunk)
    else:
        loss_fn(embed(q), embed(p)).total.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if grads_out is not None:
        torch.save({n: t.grad for n, t in encoder.named_parameters() if t.grad is not None}, grads_out)
    return {"pairs": pairs, "mode": mode, "growth_mib": (peak - before) / 1024, "seconds": seconds}


def run_child(pairs: int, mode: str, args: argparse.Namespace, grads: Path | None) -> dict:
    cmd = [sys.executable, __file__, CHILD, str(pairs), mode, json.dumps(vars(args)), str(grads or "")]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, nargs="+", default=[256, 1024, 2048])
    ap.add_argument("--plain-max", type=int, default=1024, help="largest batch also run without the cache")
    ap.add_argument("--chunk", type=int, default=64, help="texts per forward pass under the cache")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--query-length", type=int, default=32)
    ap.add_argument("--doc-length", type=int, default=128)
    ap.add_argument("--pooling-chunk", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path("bench_data/gradcache"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k != "workdir"}

    import torch

    print(f"tiny Llama: vocab {args.vocab}, hidden {args.hidden}, {args.layers} layers; query {args.query_length} / "
          f"passage {args.doc_length} tokens; cache chunk {args.chunk}; {args.threads} threads")
    print("| pairs | mode | peak RSS growth MiB | seconds | gradient rel. diff vs plain |")
    print("|---|---|---|---|---|")
    for pairs in args.pairs:
        rows = []
        plain_grads = cached_grads = None
        if pairs <= args.plain_max:
            plain_grads = args.workdir / f"plain-{pairs}.pt"
            rows.append(run_child(pairs, "plain", argparse.Namespace(**settings), plain_grads))
        cached_grads = args.workdir / f"cache-{pairs}.pt"
        rows.append(run_child(pairs, "gradcache", argparse.Namespace(**settings), cached_grads))
        diff = ""
        if plain_grads is not None:
            a, b = torch.load(plain_grads), torch.load(cached_grads)
            num = sum(float((a[n] - b[n]).pow(2).sum()) for n in a) ** 0.5
            den = sum(float(a[n].pow(2).sum()) for n in a) ** 0.5
            diff = f"{num / den:.1e}"
        for row in rows:
            shown = diff if row["mode"] == "gradcache" else ""
            print(f"| {pairs} | {row['mode']} | {row['growth_mib']:.0f} | {row['seconds']:.1f} | {shown} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        pairs, mode, raw, grads = int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
        print(json.dumps(measure(pairs, mode, argparse.Namespace(**raw), Path(grads) if grads else None)))
    else:
        main()
