"""int8 block size: top-10 overlap with fp32 and query latency per int8 ONNX graph, one model, one run.

Question: how many input channels may share one int8 scale before ranking quality goes?
For each ``--blocks`` value the fp32 ONNX graph of ``--model`` is quantised by
:func:`laconic.encoder.backends.quantize_onnx` (0 = the per-channel dynamic graph; N =
``MatMulNBits`` with blocks of N channels), then:

- top-10 overlap: ``--docs`` SciFact documents and ``--queries`` SciFact test queries,
  each query's top-10 among those documents against the fp32 graph's;
- query p50: the first 60 of those queries one at a time (tokenisation, graph, top-k),
  one thread, after 5 warm-up queries; the fp32 graph is timed the same way.

A sample-sized probe, for choosing the default; full test sets: ``int8_quality.py``.

Usage:
    python benchmarks/int8_blocks.py --model models/laconic-minilm --blocks 0,16,32,64,128
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode_backends import BEIR, overlap, query_latency  # noqa: E402

from laconic.encoder import SparseEncoder, backends  # noqa: E402
from laconic.evaluation import load_beir  # noqa: E402


def latency_ms(encoder: SparseEncoder, queries: list[str]) -> float:
    """Median of the first 60 queries one at a time on one thread (``query_latency`` warms up on 5)."""
    return float(np.median(query_latency(encoder, queries[:60], threads=1)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--blocks", default="0,16,32,64,128")
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--workdir", default="bench_data/int8-blocks")
    args = ap.parse_args(argv)
    base = Path(args.workdir) / Path(args.model).name
    if not (base / backends.graph_file("onnx", False)).is_file():
        encoder = SparseEncoder.from_pretrained(args.model, device="cpu", dtype="float32")
        encoder.save_pretrained(base)
        backends.export(encoder, base, "onnx")
    ds = load_beir(BEIR, "test")
    docs = ds.documents[: args.docs]
    queries = ds.queries[: args.queries]

    fp32 = SparseEncoder.from_pretrained(base, backend="onnx")
    ref = fp32.encode_queries(queries), fp32.encode_documents(docs, batch_size=16)
    ref_ms = latency_ms(fp32, queries)
    print(f"# int8 block size, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.model}; "
          f"{len(docs)} SciFact documents, {len(queries)} test queries; fp32 ONNX query p50 {ref_ms:.2f} ms (1 thread)")
    print("| int8 graph | top-10 overlap with fp32 | query p50 ms | vs fp32 ONNX | graph MB |")
    print("|---|---:|---:|---:|---:|")
    for block in (int(b) for b in args.blocks.split(",")):
        folder = base.parent / f"{base.name}-block{block}"
        graph = folder / backends.graph_file("onnx", True)
        if not graph.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(base, folder, ignore=shutil.ignore_patterns("model.onnx"))  # the int8 graph is enough
            backends.quantize_onnx(base / backends.graph_file("onnx", False), graph, block)
        enc = SparseEncoder.from_pretrained(folder, backend="onnx", int8=True)
        q, d = enc.encode_queries(queries), enc.encode_documents(docs, batch_size=16)
        ms = latency_ms(enc, queries)
        name = "per channel (dynamic)" if block == 0 else f"blocks of {block} (MatMulNBits)"
        print(f"| {name} | {overlap(ref[0], ref[1], q, d):.3f} | {ms:.2f} | {ref_ms / ms:.2f}x | "
              f"{graph.stat().st_size / 1e6:.1f} |", flush=True)
        del enc


if __name__ == "__main__":
    main()
