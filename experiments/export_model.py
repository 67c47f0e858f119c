"""Export a trained encoder for evaluation or shipping: set its encode-time knobs, optionally fp16.

Why: a training run's ``final/`` keeps the training-time settings. For
the index-size goal (>= 71% smaller than MiniLM's 1,536-byte dense vectors) we
prune every vector to its ``--max-terms`` heaviest weights at encode time, and
for the shipped model we store float16 weights (half the bytes; CPU encoding
upcasts to float32 on load). Both are saved in ``laconic_config.json`` so
``SparseEncoder.from_pretrained`` reopens the model with them.

Example:
    python experiments/export_model.py runs/train/minilm-p12/final runs/models/minilm-p12 --max-terms 48
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="encoder directory (a run's final/ or a merged run)")
    ap.add_argument("output", type=Path)
    ap.add_argument("--max-terms", type=int, default=None, help="keep this many weights per vector (default: unchanged)")
    ap.add_argument("--max-length", type=int, default=None, help="query and document token budget (default: unchanged)")
    ap.add_argument("--logit-bias", type=float, default=None, help="constant added to every term logit (default: unchanged)")
    ap.add_argument("--fp16", action="store_true", help="store float16 weights")
    args = ap.parse_args()

    import torch

    from laconic.encoder import SparseEncoder

    encoder = SparseEncoder.from_pretrained(str(args.source), device="cpu", dtype="float32")
    # the encoding profile (terms kept, token budgets) lives in the config: replace it, never patch it
    encoder.config = encoder.config.replace(
        max_terms=args.max_terms, query_max_length=args.max_length, document_max_length=args.max_length,
        logit_bias=args.logit_bias,
    )
    if args.fp16:
        encoder.model.to(torch.float16)
    encoder.save_pretrained(args.output)
    size = sum(p.stat().st_size for p in args.output.rglob("*") if p.is_file())
    print(f"exported {args.source} -> {args.output} ({size / 1e6:.1f} MB, max_terms={encoder.config.max_terms})")


if __name__ == "__main__":
    main()
