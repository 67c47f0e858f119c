"""Score mined training groups with a model: are the "negatives" really below the positives?

Why: phase 2 learns to push each mined negative under its positive. If the
negatives are unjudged relevant documents (NFCorpus's top BM25 ranks), a
model that already ranks well scores them *above* the positives, and phase 2
unlearns. This prints, for random batches of Tevatron-format groups, the mean
score of the positive and of the first negative, and the batch's InfoNCE over
all 2 x batch passages (chance: ln(2 x batch)).

Example:
    python experiments/score_negatives.py runs/train/minilm-p1/merged runs/data/mined-bm25-nfcorpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import random

import torch
import torch.nn.functional as F

from laconic import SparseEncoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("groups", help="Tevatron JSONL (query, positive_passages, negative_passages)")
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    encoder = SparseEncoder.from_pretrained(args.model)
    with open(args.groups, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r.get("negative_passages")]
    random.seed(args.seed)
    rows = random.sample(rows, args.batches * args.batch_size)

    def text(p: dict) -> str:
        return f"{p.get('title', '')} {p['text']}".strip()

    b = args.batch_size
    print(f"chance InfoNCE over {2 * b} passages: {math.log(2 * b):.2f}")
    with torch.no_grad():
        for start in range(0, len(rows), b):
            group = rows[start : start + b]
            passages = [text(p) for r in group for p in (r["positive_passages"][0], r["negative_passages"][0])]
            q = encoder(**encoder.tokenize([r["query"] for r in group], "query", 32))
            p = encoder(**encoder.tokenize(passages, "document", 64))
            scores = q @ p.T
            pos = torch.arange(b) * 2
            print(
                f"positive {scores[torch.arange(b), pos].mean():6.2f}  negative {scores[torch.arange(b), pos + 1].mean():6.2f}"
                f"  InfoNCE {F.cross_entropy(scores, pos):5.2f}"
            )


if __name__ == "__main__":
    main()
