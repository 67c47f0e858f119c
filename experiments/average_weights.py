"""Average the weights of encoders fine-tuned from one start (a "model soup"), for issue 14.

Why: runs that differ only in their seed end in nearby points of the same basin; the mean of
their weights often scores above each of them (Wortsman et al., 2022, "Model soups"), at no cost
at encode time. The inputs must share an architecture and parameter names; the output keeps the
first input's config, encoding profile and tokenizer, in float32 unless ``--fp16``.

    python experiments/average_weights.py runs/models/a runs/models/b runs/models/c -o runs/models/soup
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", type=Path, nargs="+", help="encoder directories (two or more)")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--fp16", action="store_true", help="store float16 weights")
    args = ap.parse_args()
    if len(args.models) < 2:
        ap.error("give at least two encoders to average")

    import torch

    from laconic.encoder import SparseEncoder

    first = SparseEncoder.from_pretrained(str(args.models[0]), device="cpu", dtype="float32")
    state = {k: v.detach().clone().double() for k, v in first.model.state_dict().items()}
    for path in args.models[1:]:
        other = SparseEncoder.from_pretrained(str(path), device="cpu", dtype="float32").model.state_dict()
        if other.keys() != state.keys():
            raise SystemExit(f"{path}: its parameters differ from {args.models[0]}'s; only runs of one architecture average")
        for k, v in other.items():
            if v.shape != state[k].shape:
                raise SystemExit(f"{path}: {k} has shape {tuple(v.shape)}, {args.models[0]} has {tuple(state[k].shape)}")
            state[k] += v.double()
    n = len(args.models)
    first.model.load_state_dict({k: (v / n).to(torch.float32) for k, v in state.items()})
    if args.fp16:
        first.model.half()
    first.save_pretrained(str(args.output))
    print(f"averaged {n} encoders into {args.output}")


if __name__ == "__main__":
    main()
