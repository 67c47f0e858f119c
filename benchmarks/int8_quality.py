"""What int8 costs in retrieval quality: full SciFact and NFCorpus test sets, fp32 against int8, per backend.

For each model and dataset the corpus and queries are encoded by the fp32
ONNX graph, by the default int8 ONNX graph (block-wise, ``MatMulNBits``) and by the
per-channel dynamic int8 graph (``--int8-block 0``), searched exactly with our index (top-100), and compared:
nDCG@10 of each, its difference from fp32, and the mean top-10 overlap of
each query's ranking with fp32's. Each int8 graph is measured twice: on both sides (its
own index), and as a query encoder only ("queries only": its queries searched in the fp32
index, the way a service built on an fp32 index would run). Models are prepared as in
``encode_backends.py`` (in ``--workdir``).

Usage:
    nice -n 5 python benchmarks/int8_quality.py                        # both models, both datasets
    python benchmarks/int8_quality.py --smoothquant                     # plus the SmoothQuant int8 graph
    python benchmarks/int8_quality.py --models splade-tiny --datasets scifact
    python benchmarks/int8_quality.py --max-length 256     # documents and queries at 256 tokens (the paper's)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode_backends import ROOT, int8_variant, prepare  # noqa: E402

from laconic.encoder import SparseEncoder  # noqa: E402
from laconic.evaluation import load_beir  # noqa: E402
from laconic.evaluation.metrics import compute_metrics  # noqa: E402
from laconic.index import SparseIndex  # noqa: E402

BEIR = ROOT.parent / "shared" / "data" / "beir"
VARIANTS = [("onnx", False), ("onnx", True), ("onnx+channel", True)]  # fp32 reference, the default int8, per channel


def as_run(index: SparseIndex, queries, query_ids: list[str]) -> dict:
    found = index.search(queries, k=100, mode="exact")
    return {q: dict(zip(ids, map(float, s))) for q, ids, s in zip(query_ids, found.ids, found.scores)}


def ranked(encoder: SparseEncoder, ds, reference: SparseIndex | None) -> tuple[dict, dict | None, SparseIndex, float]:
    """The run of ``encoder`` on both sides; with ``reference`` (the fp32 index) also its queries on that index."""
    t = time.perf_counter()
    docs = encoder.encode_documents(ds.documents, batch_size=16, ids=ds.doc_ids)
    queries = encoder.encode_queries(ds.queries, ids=ds.query_ids)
    index = SparseIndex.build(docs)
    on_reference = as_run(reference, queries, ds.query_ids) if reference is not None else None
    return as_run(index, queries, ds.query_ids), on_reference, index, time.perf_counter() - t


def smoothed_folder(folder: Path, alpha: float) -> Path:
    """``folder``'s model with an int8 ONNX graph quantised after SmoothQuant, once.

    Calibration: the last 150 documents of each corpus (documents only: no query, no judgement).
    """
    texts = []
    for dataset in ("scifact", "nfcorpus"):
        ds = load_beir(BEIR / dataset, "test")
        texts += [{"title": t, "text": x} for t, x in zip(ds.titles[-150:], ds.texts[-150:])]
    return int8_variant(folder, f"smoothquant-{alpha}", calibration=texts, alpha=alpha)


def top10(run: dict, q: str) -> set[str]:
    return set(sorted(run.get(q, {}), key=lambda d: -run[q][d])[:10])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="shipped,splade-tiny")
    ap.add_argument("--datasets", default="scifact,nfcorpus")
    ap.add_argument("--workdir", default="bench_data/encode-backends")
    ap.add_argument("--smoothquant", action="store_true",
                    help="also the int8 graph exported with SmoothQuant (calibration: 300 corpus documents, no queries)")
    ap.add_argument("--alpha", type=float, default=0.75, help="SmoothQuant strength")
    ap.add_argument("--max-length", type=int, default=0, help="query and document token budget (default: the model's)")
    args = ap.parse_args(argv)
    sources = {"shipped": (str(ROOT / "models" / "laconic-minilm"), None),
               "splade-tiny": (str(ROOT.parent / "shared" / "models" / "splade-tiny"), None)}
    lines = []
    for name in args.models.split(","):
        folder = prepare(name, *sources[name], Path(args.workdir))
        for dataset in args.datasets.split(","):
            ds = load_beir(BEIR / dataset, "test")
            runs, reference = {}, None
            variants = list(VARIANTS) + ([("onnx+smoothquant", True)] if args.smoothquant else [])
            for backend, int8 in variants:
                if backend == "onnx+smoothquant":
                    where = smoothed_folder(folder, args.alpha)
                elif backend == "onnx+channel":
                    where = int8_variant(folder, "int8-channel", int8_block=0)
                else:
                    where = folder
                lengths = {"query_max_length": args.max_length, "document_max_length": args.max_length} if args.max_length else {}
                enc = SparseEncoder.from_pretrained(where, backend=backend.split("+")[0], int8=int8, device="cpu", **lengths)
                run, on_reference, index, seconds = ranked(enc, ds, reference)
                runs[(backend, int8)] = run
                if reference is None:
                    reference = index
                else:  # the deployment issue 13 is about: documents indexed in fp32, queries encoded in int8
                    runs[(backend + ", queries only", int8)] = on_reference
                print(f"[{time.strftime('%H:%M:%S')}] {name} {dataset} {backend} {'int8' if int8 else 'fp32'}: {seconds:.0f} s",
                      file=sys.stderr, flush=True)
            ref = runs[("onnx", False)]
            ndcg_ref = compute_metrics(ds.qrels, ref, ["nDCG@10"])["nDCG@10"]
            for (backend, int8), run in runs.items():
                ndcg = compute_metrics(ds.qrels, run, ["nDCG@10"])["nDCG@10"]
                overlap = np.mean([len(top10(run, q) & top10(ref, q)) / max(1, len(top10(ref, q))) for q in ds.query_ids])
                lines.append(f"| {name} | {dataset} | {backend} | {'int8' if int8 else 'fp32'} | {ndcg:.4f} | "
                             f"{ndcg - ndcg_ref:+.4f} | {overlap:.4f} |")
    print(f"# int8 retrieval quality, {time.strftime('%Y-%m-%d')}: full test sets, exact search, top-100, "
          f"token budget {args.max_length or 'as saved with the model'}; "
          f"reference: fp32 ONNX (equal to torch fp32 within 5e-6, benchmarks/encode_backends.py)")
    print("| model | dataset | backend | precision | nDCG@10 | vs fp32 | top-10 overlap with fp32 |")
    print("|---|---|---|---|---:|---:|---:|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
