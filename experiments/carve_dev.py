"""Carve a dev split out of a BEIR train split, for choosing settings without test judgements.

Why: SciFact ships only train and test qrels. Choosing a phase-2 run on the SciFact train
queries it trained on would favour it; a held-out slice of train does not (issue 14, item 3).
The queries are shuffled with a fixed seed and the first ``--dev`` of them become ``dev``;
the rest become ``fit``. The output folder is a BEIR dataset folder that links the source's
corpus, queries and other splits (nothing is copied), so ``load_beir(out, "dev")`` and
``load_beir(out, "test")`` work on it and the document caches of the scripts are shared.

``--training IN OUT`` also writes the records of ``IN`` (``laconic mine`` output, one JSON
object with a ``query_id`` per line) whose query is in ``fit``: the phase-2 data that never
sees a dev query.

    python experiments/carve_dev.py ../shared/data/beir/scifact runs/data/scifact-carved --dev 200 \
        --training runs/data/mined-p1l-scifact.jsonl runs/data/phase2-scifact-fit.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from laconic.evaluation.datasets import read_qrels
from laconic.storage import atomic_write_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="BEIR dataset folder")
    ap.add_argument("out", type=Path, help="new dataset folder (links + qrels/fit.tsv, qrels/dev.tsv)")
    ap.add_argument("--split", default="train", help="the split to carve")
    ap.add_argument("--dev", type=int, required=True, help="number of queries moved to dev")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--training", type=Path, nargs=2, metavar=("IN", "OUT"))
    args = ap.parse_args()

    rows = read_qrels(args.source / "qrels" / f"{args.split}.tsv")  # (line, query, doc, grade)
    queries = sorted({r[1] for r in rows})
    if not 0 < args.dev < len(queries):
        raise SystemExit(f"--dev must be between 1 and {len(queries) - 1} ({len(queries)} queries in {args.split})")
    random.Random(args.seed).shuffle(queries)
    dev = set(queries[: args.dev])

    qrels = args.out / "qrels"
    qrels.mkdir(parents=True, exist_ok=True)
    for name in ("corpus.jsonl", "queries.jsonl"):
        link = args.out / name
        if not link.exists():
            link.symlink_to((args.source / name).resolve())
    for other in (args.source / "qrels").glob("*.tsv"):
        link = qrels / other.name
        if other.stem != args.split and not link.exists():
            link.symlink_to(other.resolve())
    for name, keep in (("dev", lambda q: q in dev), ("fit", lambda q: q not in dev)):
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for _, q, d, g in rows if keep(q)]
        atomic_write_text(qrels / f"{name}.tsv", "\n".join(lines) + "\n")
    print(f"{args.out}: dev {len(dev)} queries, fit {len(queries) - len(dev)}")

    if args.training:
        src, dst = args.training
        kept = [line for line in src.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line)["query_id"] not in dev]
        atomic_write_text(dst, "\n".join(kept) + "\n")
        print(f"{dst}: {len(kept)} training records without a dev query")


if __name__ == "__main__":
    main()
