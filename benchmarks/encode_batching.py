"""Document encoding: fixed-count batches against token-budget batches (``encode(max_tokens=)``).

Texts are sorted by length either way; a fixed count pads every batch to its
longest text, while a token budget puts many short texts in one pass and few
long ones. Same documents, same model, same process, runs alternated
(``--rounds``), median seconds reported; the vectors of every variant are
checked equal to the first's.

Usage:
    OMP_NUM_THREADS=2 python benchmarks/encode_batching.py --model bench_data/encode-backends/shipped
    python benchmarks/encode_batching.py --model ../shared/models/splade-tiny --docs 300
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--beir", type=Path, default=ROOT.parent / "shared" / "data" / "beir" / "scifact")
    ap.add_argument("--docs", type=int, default=500)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--batch-sizes", default="16,32")
    ap.add_argument("--budgets", default="2048,4096,8192")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from laconic.encoder import SparseEncoder
    from laconic.evaluation import load_beir

    ds = load_beir(args.beir, "test")
    docs = [{"title": t, "text": x} for t, x in zip(ds.titles[: args.docs], ds.texts[: args.docs])]
    encoder = SparseEncoder.from_pretrained(args.model, device="cpu")
    lengths = [len(r) for r in encoder.profile.token_ids(encoder.tokenizer, docs, "document", args.max_length)]
    variants = [(f"batch_size={b}", {"batch_size": int(b)}) for b in args.batch_sizes.split(",")]
    variants += [(f"max_tokens={t}", {"max_tokens": int(t)}) for t in args.budgets.split(",")]
    encoder.encode_documents(docs[:32], max_length=args.max_length)  # warm-up
    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    reference = None
    for _ in range(args.rounds):
        for name, kwargs in variants:
            start = time.perf_counter()
            vectors = encoder.encode_documents(docs, max_length=args.max_length, show_progress=False, **kwargs)
            times[name].append(time.perf_counter() - start)
            dense = vectors.to_dense()
            if reference is None:
                reference = dense
            assert np.allclose(dense, reference, atol=1e-4), f"{name}: vectors differ"
    tokens = sum(lengths)
    base = statistics.median(times[variants[0][0]])
    print(f"model {args.model}; {len(docs)} SciFact documents, {tokens} tokens (mean {tokens / len(docs):.0f}, "
          f"max {max(lengths)}); median of {args.rounds} rounds")
    print("| batching | seconds | tokens/s | speed-up |")
    print("|---|---:|---:|---:|")
    for name, _ in variants:
        t = statistics.median(times[name])
        print(f"| {name} | {t:.2f} | {tokens / t:,.0f} | {base / t:.2f}x |")


if __name__ == "__main__":
    main()
