"""Interleave JSONL training files (shuffled each, then round-robin) into one file.

Why: one training file from several sources. The order only matters to a trainer that reads
the file in order; ``laconic train`` permutes the whole file every epoch, so there the mix is set
by each source's count (SciFact 809 train queries : NFCorpus 2,590), not by the round-robin.
``--balance`` keeps as many lines of each source as the smallest has (after its shuffle), so the
file, and any permutation of it, mixes the sources equally (experiments/configs/minilm-phase2-mix-l0.yaml).

Example:
    python experiments/interleave.py runs/data/mined-bm25-scifact.jsonl runs/data/mined-bm25-nfcorpus.jsonl -o runs/data/phase2-bm25.jsonl
"""

from __future__ import annotations

import argparse
import random
from itertools import zip_longest
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", type=Path, nargs="+")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--balance", action="store_true", help="cut every source to the smallest one's size")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    streams = []
    for path in args.inputs:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rng.shuffle(lines)
        streams.append(lines)
    if args.balance:
        smallest = min(map(len, streams))
        streams = [lines[:smallest] for lines in streams]
    mixed = [line for group in zip_longest(*streams) for line in group if line is not None]
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    tmp.replace(args.output)
    print(f"wrote {len(mixed)} examples -> {args.output}")


if __name__ == "__main__":
    main()
