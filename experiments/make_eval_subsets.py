"""Cut BEIR test collections down to a size this CPU can encode once per model.

Why: encoding the full SciFact + NFCorpus corpora (8,816 documents) takes
~40 minutes per model on the 2 shared CPU cores of the reference machine, and
the results table needs ~8 models. Every system in the table (BM25, dense,
ours) is scored on the same subsets, so comparisons are fair; absolute numbers
differ from the full benchmarks (the full-corpus SciFact figure is reported
separately for the shipped model).

Subsets (seeded, reproducible):
* SciFact: a uniform sample of test queries whose judged documents fill at most
  half of the budget, all their judged documents, and uniformly sampled others.
* NFCorpus: its test qrels judge 3,128 of 3,633 documents, so "keep every judged
  document" would keep almost all; instead a uniform sample of documents, with
  qrels restricted to it and queries left without any relevant document dropped.

Example:
    python experiments/make_eval_subsets.py --beir ../shared/data/beir --out runs/data/eval --docs 1000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

from prepare_data import read_jsonl, read_qrels


def write_subset(src: Path, dst: Path, keep: set[str], split: str = "test") -> tuple[int, int]:
    """Write corpus/queries/qrels of ``src`` restricted to documents in ``keep``; return (docs, queries)."""
    qrels = read_qrels(src / "qrels" / f"{split}.tsv")
    qrels = {q: {d: g for d, g in rel.items() if d in keep} for q, rel in qrels.items()}
    qrels = {q: rel for q, rel in qrels.items() if rel}
    if dst.exists():
        shutil.rmtree(dst)
    (dst / "qrels").mkdir(parents=True)
    n_docs = 0
    with (src / "corpus.jsonl").open(encoding="utf-8") as fin, (dst / "corpus.jsonl").open("w", encoding="utf-8") as fout:
        for line in fin:
            if line.strip() and json.loads(line)["_id"] in keep:
                fout.write(line if line.endswith("\n") else line + "\n")
                n_docs += 1
    shutil.copyfile(src / "queries.jsonl", dst / "queries.jsonl")
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q in sorted(qrels) for d, g in sorted(qrels[q].items())]
    (dst / "qrels" / f"{split}.tsv").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    return n_docs, len(qrels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--beir", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/beir")
    ap.add_argument("--out", type=Path, default=Path("runs/data/eval"))
    ap.add_argument("--docs", type=int, default=1000, help="documents per subset")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    for name in ("scifact", "nfcorpus"):
        rng = random.Random(args.seed)
        src = args.beir / name
        ids = [d["_id"] for d in read_jsonl(src / "corpus.jsonl")]
        if name == "scifact":
            qrels = read_qrels(src / "qrels/test.tsv")
            keep: set[str] = set()
            for qid in rng.sample(sorted(qrels), len(qrels)):
                if len(keep | set(qrels[qid])) > args.docs // 2:
                    break
                keep |= set(qrels[qid])
            others = sorted(set(ids) - keep)
            keep |= set(rng.sample(others, max(0, args.docs - len(keep))))
        else:
            keep = set(rng.sample(ids, min(args.docs, len(ids))))
        dst = args.out / f"{name}-{args.docs // 1000}k" if args.docs % 1000 == 0 else args.out / f"{name}-{args.docs}"
        n_docs, n_queries = write_subset(src, dst, keep)
        print(f"{dst}: {n_docs} documents, {n_queries} judged test queries")


if __name__ == "__main__":
    main()
