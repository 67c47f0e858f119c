"""Training curves (ranking loss, FLOPS, non-zeros per vector) from runs' ``metrics.jsonl``.

Usage:
    .venv/bin/python experiments/plot_training.py runs/train/minilm-p1 [more runs ...] --out docs/img/training.png

Each argument is a run directory (its ``metrics.jsonl``) or the file itself; the
curve is labelled with the directory's name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from laconic.evaluation.plots import training_curves
from laconic.training.tracking import read_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories (or metrics.jsonl files)")
    ap.add_argument("--out", required=True, help="PNG to write")
    args = ap.parse_args()
    runs = {}
    for item in args.runs:
        path = Path(item)
        folder = path.parent if path.is_file() else path
        records = read_metrics(folder)
        if not records:
            raise SystemExit(f"{folder}: no metrics.jsonl records")
        runs[folder.name] = records
    print(f"wrote {training_curves(runs, args.out)}")


if __name__ == "__main__":
    main()
