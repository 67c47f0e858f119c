"""Terms per vector: how much nDCG@10 the top-k cut costs (issue 14, "settings that matter").

Top-k is applied after encoding, so each dataset is encoded once with every positive
weight kept (cached as .npz beside the output) and then cut to each k in turn; every
cut is indexed and searched exactly. Queries and documents get the same cut, unless
``--query-terms`` lists query cuts to try against each document cut.

    python experiments/terms_per_vector.py --model models/laconic-minilm \
        --dataset ../shared/data/beir/scifact --terms 32 48 64 128 256 0 --out runs/terms/scifact
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from laconic import SparseEncoder, SparseIndex, SparseVectors
from laconic.evaluation.datasets import load_beir
from laconic.evaluation.metrics import compute_metrics


def encoded(encoder: SparseEncoder, texts: list, ids: list[str], kind: str, path: Path, batch_size: int) -> SparseVectors:
    """Vectors for ``texts`` with every positive weight, read from ``path`` when present."""
    if path.exists():
        return SparseVectors.load(path)
    vectors = encoder.encode(texts, kind, batch_size=batch_size, show_progress=True, ids=ids)
    vectors.save(path)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--terms", type=int, nargs="+", default=[32, 48, 64, 128, 256, 0], help="0 = every positive weight")
    parser.add_argument("--query-terms", type=int, nargs="+", default=None,
                        help="query cuts to try against each document cut (default: the document's; 0 = all)")
    parser.add_argument("--max-length", type=int, default=256, help="query and document token budget")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    dataset = load_beir(args.dataset, args.split)
    encoder = SparseEncoder.from_pretrained(
        args.model, profile={"max_terms": 0, "query_max_length": args.max_length, "document_max_length": args.max_length}
    )
    docs = encoded(encoder, dataset.documents, dataset.doc_ids, "document", args.out / "documents.npz", args.batch_size)
    queries = encoded(encoder, dataset.queries, dataset.query_ids, "query", args.out / f"queries-{args.split}.npz", args.batch_size)

    rows = []
    for k in args.terms:
        d = docs.top_k(k) if k else docs
        index = SparseIndex.build(d)
        for kq in args.query_terms or [k]:
            q = queries.top_k(kq) if kq else queries
            hits = index.search(q, k=100)
            run = hits.to_run(dataset.query_ids)
            metrics = compute_metrics(dataset.qrels, run, ["nDCG@10", "R@100"])
            row = {"terms": k or "all", "query_terms": kq or "all", "nnz_q": q.nnz / len(q), "nnz_d": d.nnz / len(d),
                   "bytes_per_doc": index.stats()["bytes_per_doc"], **metrics}
            rows.append(row)
            print(json.dumps(row), flush=True)
    name = f"terms-{args.split}-query-cuts.json" if args.query_terms else f"terms-{args.split}.json"
    (args.out / name).write_text(json.dumps(rows, indent=1))
    print("\n| terms | query terms | nnz q | nnz d | nDCG@10 | R@100 | bytes/doc |\n|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['terms']} | {r['query_terms']} | {r['nnz_q']:.0f} | {r['nnz_d']:.0f} | {r['nDCG@10']:.4f} | {r['R@100']:.4f} | {r['bytes_per_doc']:,.0f} |")


if __name__ == "__main__":
    main()
