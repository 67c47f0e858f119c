"""Encoding speed per backend: torch, ONNX Runtime, OpenVINO, each fp32 and int8, side by side.

Question: how much faster is a query (batch 1) and a document batch on CPU per
backend and precision, for the models users run here?

Models: the shipped ``models/laconic-minilm`` (MiniLM, tied head, 30,522 terms),
``../shared/models/splade-tiny`` (a real SPLADE MLM) and, with ``--smollm2 FILE``,
SmolLM2-135M-Instruct (a real Llama, dequantised from its GGUF file; 49,152 terms).
Each model is exported once (``laconic export`` equivalents) into ``--workdir``.

Measured, per (model, backend, precision), in this one process after a warm-up:

- query latency: SciFact test queries encoded one at a time (``encode_queries([q])``,
  tokenisation, the graph and top-k included), p50 and p99 over ``--queries``, with 1
  and with 2 threads;
- int8 ONNX twice: the default block-wise graph and the per-channel one (``onnx+channel``);
- document throughput: ``--docs`` SciFact documents (title + text, 256 tokens) in
  batches of 16, 2 threads, real (non-padding) tokens per second, median of 3.

Ratios are against torch fp32 of the same model in the same run. Equality
columns: the largest absolute weight difference from torch fp32 over the
queries, and the top-10 overlap of the documents' ranking for each query
(fp32 torch as reference).

Usage:
    nice -n 5 python benchmarks/encode_backends.py --smollm2 /path/SmolLM2-135M-Instruct.Q4_1.gguf
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
BEIR = ROOT.parent / "shared" / "data" / "beir" / "scifact"
# "onnx+channel": the per-channel dynamic int8 graph (``--int8-block 0``) beside the default block-wise one
VARIANTS = [("torch", False), ("torch", True), ("onnx", False), ("onnx", True), ("onnx+channel", True),
            ("openvino", False), ("openvino", True)]


def scifact(n_queries: int, n_docs: int) -> tuple[list[str], list[dict]]:
    with open(BEIR / "queries.jsonl", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for _, line in zip(range(n_queries), f)]
    with open(BEIR / "corpus.jsonl", encoding="utf-8") as f:
        docs = [{"title": r["title"], "text": r["text"]} for r in (json.loads(line) for _, line in zip(range(n_docs), f))]
    return queries, docs


def prepare(name: str, source: str, gguf: str | None, workdir: Path) -> Path:
    """The model saved with its ONNX and OpenVINO graphs (fp32 and int8), once."""
    from laconic.encoder import SparseEncoder, backends

    folder = workdir / name
    if (folder / backends.graph_file("openvino", True)).is_file():
        return folder
    kwargs = {"gguf_file": gguf} if gguf else {}
    encoder = SparseEncoder.from_pretrained(source, device="cpu", dtype="float32", **kwargs)
    encoder.save_pretrained(folder)
    backends.export(encoder, folder, "onnx", int8=True)
    backends.export(encoder, folder, "openvino", int8=True)
    return folder


def int8_variant(folder: Path, suffix: str, **export_kwargs) -> Path:
    """``folder``'s model beside it (``<name>-<suffix>``) with an int8 ONNX graph exported with
    ``export_kwargs`` (``int8_block=0``; SmoothQuant's ``calibration``/``alpha``), once."""
    from laconic.encoder import SparseEncoder, backends

    target = folder.parent / f"{folder.name}-{suffix}"
    if (target / backends.graph_file("onnx", True)).is_file():
        return target
    encoder = SparseEncoder.from_pretrained(folder, device="cpu", dtype="float32")
    encoder.save_pretrained(target)
    backends.export(encoder, target, "onnx", int8=True, **export_kwargs)
    return target


def query_latency(encoder, queries: list[str], threads: int) -> np.ndarray:
    torch.set_num_threads(threads)
    for q in queries[:5]:
        encoder.encode_queries([q], threads=threads)
    out = []
    for q in queries:
        t = time.perf_counter()
        encoder.encode_queries([q], threads=threads)
        out.append(time.perf_counter() - t)
    return np.array(out) * 1e3


def doc_throughput(encoder, docs: list[dict], threads: int) -> float:
    torch.set_num_threads(threads)
    tokens = sum(len(r) for r in encoder.profile.token_ids(encoder.tokenizer, docs, "document"))
    encoder.encode_documents(docs[:16], batch_size=16, threads=threads)  # warm-up
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        encoder.encode_documents(docs, batch_size=16, threads=threads)
        runs.append(time.perf_counter() - t)
    return tokens / statistics.median(runs)


def overlap(ref_q, ref_d, q, d) -> float:
    a, b = (ref_q.to_scipy() @ ref_d.to_scipy().T).toarray(), (q.to_scipy() @ d.to_scipy().T).toarray()
    return float(np.mean([len(set(np.argsort(-x)[:10]) & set(np.argsort(-y)[:10])) / 10 for x, y in zip(a, b)]))


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--docs", type=int, default=64)
    ap.add_argument("--smollm2", help="SmolLM2-135M-Instruct GGUF file (see shared/models/SOURCES.md)")
    ap.add_argument("--models", default="shipped,splade-tiny,smollm2")
    ap.add_argument("--workdir", default="bench_data/encode-backends")
    args = ap.parse_args(argv)
    from laconic.encoder import SparseEncoder

    sources = {
        "shipped": (str(ROOT / "models" / "laconic-minilm"), None),
        "splade-tiny": (str(ROOT.parent / "shared" / "models" / "splade-tiny"), None),
    }
    if args.smollm2:
        sources["smollm2"] = (str(Path(args.smollm2).parent), Path(args.smollm2).name)
    queries, docs = scifact(args.queries, args.docs)
    rows = []
    for name in [m for m in args.models.split(",") if m in sources]:
        folder = prepare(name, *sources[name], Path(args.workdir))
        ref = None
        for backend, int8 in VARIANTS:
            where = int8_variant(folder, "int8-channel", int8_block=0) if backend == "onnx+channel" else folder
            enc = SparseEncoder.from_pretrained(where, backend=backend.split("+")[0], int8=int8, device="cpu")
            qv, dv = enc.encode_queries(queries), enc.encode_documents(docs)
            if ref is None:
                ref = (qv, dv)
            row = {"model": name, "backend": backend, "precision": "int8" if int8 else "fp32"}
            for threads in (1, 2):
                lat = query_latency(enc, queries, threads)
                row[f"q_p50_{threads}t"], row[f"q_p99_{threads}t"] = float(np.median(lat)), float(np.percentile(lat, 99))
            row["doc_tok_s"] = doc_throughput(enc, docs, 2)
            row["max_abs_diff"] = float(np.abs(qv.to_dense() - ref[0].to_dense()).max())
            row["top10_overlap"] = overlap(ref[0], ref[1], qv, dv)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            del enc
    print(f"# encoding backends, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
          f"torch {torch.__version__}; {args.queries} SciFact queries one at a time; {args.docs} documents, batch 16")
    print("| model | backend | precision | query p50 ms 1t | p99 1t | p50 2t | p99 2t | query speed-up 1t | doc tokens/s 2t | "
          "doc speed-up | max abs diff | top-10 overlap |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        base = next(b for b in rows if b["model"] == r["model"] and b["backend"] == "torch" and b["precision"] == "fp32")
        print(f"| {r['model']} | {r['backend']} | {r['precision']} | {r['q_p50_1t']:.1f} | {r['q_p99_1t']:.1f} | "
              f"{r['q_p50_2t']:.1f} | {r['q_p99_2t']:.1f} | {base['q_p50_1t'] / r['q_p50_1t']:.2f}x | "
              f"{r['doc_tok_s']:,.0f} | {r['doc_tok_s'] / base['doc_tok_s']:.2f}x | {r['max_abs_diff']:.2e} | "
              f"{r['top10_overlap']:.3f} |")
    return rows


if __name__ == "__main__":
    main()
