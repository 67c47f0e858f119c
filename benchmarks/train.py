"""Training-step throughput and peak memory: chunked pooling (recomputed in backward) vs. plain.

CPU part (always): a small random Llama (4 layers, hidden 256, vocab 32k),
phase-2-shaped batches (queries x passages x tokens), one full training step
(encode -> InfoNCE + FLOPS -> backward -> AdamW), with and without chunked
pooling, and with the gradient cache. Times: all variants of a device live in
one process and run interleaved, round by round (a shared, noisy machine slows
them alike); medians after one warm-up step. Peak memory: each variant alone
in a fresh process (RSS growth over the loaded model, or peak CUDA memory).

GPU part (only when CUDA is available): the Llama-3.2-1B shape (random
weights, nothing downloaded), phase-2 recipe: 4 queries x 16 passages x 192
tokens, bf16, LoRA r=32 on q/k/v/o/gate/up/down, gradient checkpointing;
reports steps/s, tokens/s and peak CUDA memory.

Example:
    nice -n 10 python benchmarks/train.py --steps 5
    python benchmarks/train.py --gpu-only         # on a CUDA machine
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time

SMALL = dict(vocab_size=32000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
             num_attention_heads=4, num_key_value_heads=4)
LLAMA_1B = dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _encoder(shape: dict, device: str, dtype, chunk: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from laconic.encoder import EncoderConfig, SparseEncoder

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**shape, max_position_embeddings=512, tie_word_embeddings=False)).to(device, dtype)
    # the encoder only needs a tokenizer for text input; the benchmark feeds token ids
    return SparseEncoder(model, tokenizer=None, config=EncoderConfig(pooling_chunk_size=chunk))


def _batch(vocab: int, rows: int, length: int, device: str, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, vocab, (rows, length), generator=g)
    mask = torch.ones_like(ids)
    lengths = torch.randint(length // 2, length + 1, (rows,), generator=g)
    mask[torch.arange(length)[None, :] >= lengths[:, None]] = 0  # ragged, right-padded
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device)}


def _setup(spec: dict):
    """Build one variant: returns (step function, tokens per step)."""
    import torch

    from laconic.training.adapters import attach_lora
    from laconic.training.config import TrainingConfig
    from laconic.training.gradcache import gradcache_step
    from laconic.training.losses import laconic_loss

    device = spec["device"]
    dtype = torch.bfloat16 if spec["bf16"] else torch.float32
    encoder = _encoder(spec["shape"], device, dtype, spec["chunk"])
    if spec["lora"]:
        attach_lora(encoder, TrainingConfig(lora_r=spec["lora"], lora_alpha=2 * spec["lora"], lora_dropout=0.0))
    if spec["grad_ckpt"]:
        encoder.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    encoder.train()
    params = [p for p in encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    vocab = spec["shape"]["vocab_size"]
    q = _batch(vocab, spec["queries"], spec["q_len"], device, 1)
    p = _batch(vocab, spec["queries"] * spec["passages"], spec["d_len"], device, 2)
    tokens = int(q["attention_mask"].sum() + p["attention_mask"].sum())
    embed = lambda x: encoder(x["input_ids"], x["attention_mask"])  # noqa: E731
    loss_fn = lambda a, b: laconic_loss(a, b, lambda_q=1e-3, lambda_d=1e-3)  # noqa: E731

    def step():
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=spec["bf16"]):
            if spec["gradcache"]:
                gradcache_step(embed, q, p, loss_fn, chunk_size=spec["gradcache"])
            else:
                loss_fn(embed(q), embed(p)).total.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    return step, tokens


def peak_memory(spec: dict) -> float:
    """Peak memory (MiB) of one warm-up + one step, alone in this process (RSS above the model, or CUDA)."""
    import torch

    torch.set_num_threads(spec["threads"])
    step, _ = _setup(spec)
    base = _rss_mb()
    if spec["device"].startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    step()
    step()
    if spec["device"].startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base  # ru_maxrss is KiB on Linux


def timings(specs: list[dict]) -> list[dict]:
    """Median step time per variant, variants interleaved round by round so machine noise hits all alike."""
    import torch

    torch.set_num_threads(specs[0]["threads"])
    built = [_setup(s) for s in specs]
    for step, _ in built:
        step()  # warm-up
    times: list[list[float]] = [[] for _ in specs]
    for r in range(specs[0]["steps"]):
        for i, (step, _) in enumerate(built):
            t = time.perf_counter()
            step()
            times[i].append(time.perf_counter() - t)
            print(f"    round {r + 1}: {specs[i]['name']} {times[i][-1]:.2f}s", file=sys.stderr, flush=True)
    rows = []
    for spec, (_, tokens), ts in zip(specs, built, times):
        med = statistics.median(ts)
        rows.append({"name": spec["name"], "step_s": med, "steps_per_s": 1 / med, "tokens_per_s": tokens / med,
                     "samples_per_s": spec["queries"] / med, "tokens": tokens})
    return rows


def _in_subprocess(fn, arg):
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, (arg,))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5, help="timed rounds per variant (after 1 warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", type=int, default=4)
    ap.add_argument("--passages", type=int, default=4)
    ap.add_argument("--q-len", type=int, default=32)
    ap.add_argument("--d-len", type=int, default=128)
    ap.add_argument("--gpu-only", action="store_true")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    import torch

    common = dict(threads=args.threads, queries=args.queries, passages=args.passages, q_len=args.q_len,
                  d_len=args.d_len, steps=args.steps, lora=0, grad_ckpt=False, gradcache=0, bf16=False,
                  device="cpu", shape=SMALL)
    variants = [] if args.gpu_only else [
        dict(common, name="cpu: plain pooling (B x L x V logits)", chunk=0),
        dict(common, name="cpu: chunked pooling, 4096 cols", chunk=4096),
        dict(common, name="cpu: chunked pooling + gradcache(4)", chunk=4096, gradcache=4),
    ]
    if torch.cuda.is_available():
        gpu = dict(common, device="cuda", shape=LLAMA_1B, queries=4, passages=16, q_len=192, d_len=192,
                   bf16=True, lora=32, grad_ckpt=True, steps=max(args.steps, 5))
        variants += [dict(gpu, name="gpu 1B: plain pooling", chunk=0),
                     dict(gpu, name="gpu 1B: chunked pooling, 8192 cols", chunk=8192)]
    else:
        print("CUDA not available: GPU part (Llama-3.2-1B shape, 4x16x192, bf16, LoRA r=32, grad ckpt) skipped.")

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"threads={args.threads}; cpu batch: {args.queries} queries x {args.passages} passages, "
          f"q {args.q_len} / d {args.d_len} tokens (ragged)")
    rows = []
    for group in sorted({v["device"] for v in variants}):
        specs = [v for v in variants if v["device"] == group]
        group_rows = _in_subprocess(timings, specs)
        for spec, row in zip(specs, group_rows):
            row["peak_mb"] = _in_subprocess(peak_memory, spec)
            print(f"  done: {row['name']}", file=sys.stderr)
        rows += group_rows
    print("\n| variant | step (s, median) | steps/s | tokens/s | peak memory (MiB) | time vs first | memory vs first |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        first = next(x for x in rows if x["name"].split(":")[0] == r["name"].split(":")[0])
        print(f"| {r['name']} | {r['step_s']:.3f} | {r['steps_per_s']:.2f} | {r['tokens_per_s']:.0f} | "
              f"{r['peak_mb']:.0f} | {r['step_s'] / first['step_s']:.2f}x | {r['peak_mb'] / first['peak_mb']:.2f}x |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
