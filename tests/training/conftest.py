"""Training fixtures: real SciFact pairs and BEIR subsets, a single torch thread (2 shared cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

N_TRAIN_PAIRS = 300  # title -> abstract pairs for phase 1
N_HELD_OUT = 100  # pairs never trained on, for the ranking check


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny models are slower with 2 contended threads than with 1 (OpenMP spin-waits)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def scifact_pairs(beir_dir: Path, start: int, count: int) -> list[dict[str, str]]:
    """(title, abstract) pairs from SciFact's corpus, in file order."""
    rows = []
    with open(beir_dir / "scifact" / "corpus.jsonl", encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i >= start + count:
                break
            if i >= start:
                doc = json.loads(line)
                rows.append({"query": doc["title"], "document": doc["text"]})
    return rows


@pytest.fixture(scope="session")
def pairs_file(tmp_path_factory, beir_dir) -> Path:
    """Phase-1 training pairs (JSONL, ``query``/``document`` columns)."""
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for row in scifact_pairs(beir_dir, 0, N_TRAIN_PAIRS):
            handle.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="session")
def held_out_pairs(beir_dir) -> list[dict[str, str]]:
    return scifact_pairs(beir_dir, N_TRAIN_PAIRS, N_HELD_OUT)


@pytest.fixture(scope="session")
def scifact_small(tmp_path_factory, beir_dir) -> Path:
    """A self-consistent SciFact train-split subset (400 docs) written as a BEIR folder."""
    from laconic.evaluation.datasets import load_beir, write_beir

    subset = load_beir(beir_dir / "scifact", "train").subset(400, seed=0)
    return write_beir(subset, tmp_path_factory.mktemp("scifact_small") / "scifact")


def pairwise_accuracy(encoder, pairs: list[dict[str, str]]) -> float:
    """Fraction of (query, other passage) pairs where the query's own passage scores higher."""
    import torch

    q = torch.tensor(encoder.encode_queries([p["query"] for p in pairs], show_progress=False).to_dense())
    d = torch.tensor(encoder.encode_documents([p["document"] for p in pairs], show_progress=False).to_dense())
    scores = q @ d.T
    wins = (scores.diag()[:, None] > scores).float().sum()
    return float(wins / (len(pairs) * (len(pairs) - 1)))


def _tiny_overrides(model: Path, data: Path, out: Path, **extra) -> dict:
    """Knobs that make a CPU run of the tiny Llama take seconds."""
    base = dict(
        model=str(model), train_data=str(data), output_dir=str(out), batch_size=8, grad_accumulation=1,
        query_max_length=32, document_max_length=64, gradient_checkpointing=False, warmup_ratio=0.0,
        save_every=0, report_to="none", progress=False, lora_dropout=0.0,
    )
    base.update(extra)
    return base


@pytest.fixture
def tiny_overrides():
    """``tiny_overrides(model, data, out, **extra)`` -> config overrides for a seconds-long CPU run."""
    return _tiny_overrides
