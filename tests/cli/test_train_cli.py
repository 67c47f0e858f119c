"""The user's curriculum through the CLI: phase 1 -> merge -> mine -> phase 2 -> merge.

Runs in-process (typer's CliRunner) on a tiny random Llama with real SciFact
text: phase 1 on title -> abstract pairs, mining on the SciFact train qrels
with the phase-1 model (our index) and with BM25, phase 2 on the mined file.
The tiny phase-1 run must lower the loss and rank held-out pairs better than
the untrained model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from laconic.cli.main import app

TRAIN_PAIRS, HELD_OUT = 300, 100


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: 1 thread beats 2 contended ones
    yield
    torch.set_num_threads(before)


def _pairs(beir_dir: Path, start: int, count: int) -> list[dict[str, str]]:
    lines = (beir_dir / "scifact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[start:start + count]
    return [{"query": d["title"], "document": d["text"]} for d in map(json.loads, lines)]


def _accuracy(model_dir: Path, pairs: list[dict[str, str]]) -> float:
    """Fraction of (query, other pair's passage) where the query's own passage scores higher."""
    import torch

    from laconic.encoder import SparseEncoder

    enc = SparseEncoder.from_pretrained(model_dir, device="cpu", max_terms=0, query_max_length=32, document_max_length=64)
    q = torch.tensor(enc.encode_queries([p["query"] for p in pairs], show_progress=False).to_dense())
    d = torch.tensor(enc.encode_documents([p["document"] for p in pairs], show_progress=False).to_dense())
    s = q @ d.T
    return float((s.diag()[:, None] > s).float().sum() / (len(pairs) * (len(pairs) - 1)))


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"{args[0]} failed:\n{result.output}\n{result.exception!r}"
    return result.output


TINY = ["--query-max-length", 32, "--document-max-length", 64, "--no-gradient-checkpointing",
        "--save-every", 0, "--report-to", "none", "--no-progress"]


def test_two_phase_curriculum_end_to_end(tiny_llama_dir, beir_dir, tmp_path):
    from laconic.evaluation.datasets import load_beir, write_beir
    from laconic.training.tracking import read_metrics

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(p) + "\n" for p in _pairs(beir_dir, 0, TRAIN_PAIRS)))

    # phase 1: weak pairs, in-batch negatives (full fine-tuning: a tiny model learns fast enough).
    # lr 2e-3: at 5e-3 the tiny model memorises the 300 pairs and held-out accuracy gains
    # only ~0.005 with transformers 5.23-5.24 / tokenizers 0.23 (1e-3 to 3e-3 gain 0.05-0.12 on
    # three held-out slices).
    _invoke(["train", "--preset", "laconic-1b-phase1", "--model", tiny_llama_dir, "--train-data", pairs,
             "--output-dir", tmp_path / "p1", "--max-steps", 80, "--batch-size", 16, "--grad-accumulation", 1,
             "--lr", 2e-3, "--no-lora", "--warmup-ratio", 0, "--lambda-warmup-steps", 10, *TINY])
    saved = json.loads((tmp_path / "p1" / "training_config.json").read_text())
    assert (saved["passages_per_query"], saved["lambda_q"], saved["lr"], saved["lora"]) == (1, 5e-4, 2e-3, False)
    ranking = [r["ranking"] for r in read_metrics(tmp_path / "p1")]
    assert len(ranking) == 80
    assert sum(ranking[-10:]) / 10 < sum(ranking[:10]) / 10 - 0.1  # the loss falls

    _invoke(["merge", tmp_path / "p1", "--output", tmp_path / "p1-merged"])
    held_out = _pairs(beir_dir, TRAIN_PAIRS, HELD_OUT)
    before, after = _accuracy(tiny_llama_dir, held_out), _accuracy(tmp_path / "p1-merged", held_out)
    assert after > before + 0.03, (before, after)

    # mining on SciFact's train qrels with the phase-1 model (our index), and with BM25
    small = write_beir(load_beir(beir_dir / "scifact", "train").subset(300, seed=1), tmp_path / "scifact")
    files = ["--corpus", small / "corpus.jsonl", "--queries", small / "queries.jsonl", "--qrels", small / "qrels" / "train.tsv"]
    _invoke(["mine", "--model", tmp_path / "p1-merged", *files, "--output", tmp_path / "train.jsonl", "--depth", 8,
             "--query-max-length", 32, "--document-max-length", 64])
    _invoke(["mine", "--bm25", *files, "--output", tmp_path / "bm25.jsonl", "--depth", 8, "--skip", 1])
    for name in ("train.jsonl", "bm25.jsonl"):
        rows = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        assert rows and all(r["positive_passages"] and len(r["negative_passages"]) <= 8 for r in rows)

    # a full fine-tuning run's final/ is an encoder: eval reads it as it is, with merged's scores
    for model in ("p1/final", "p1-merged"):
        _invoke(["eval", "--model", tmp_path / model, "--dataset", small, "--split", "train", "--k", 20, "--quiet",
                 "--output-dir", tmp_path / "eval" / model.replace("/", "-")])
    reports = [json.loads((tmp_path / "eval" / n / "report.json").read_text()) for n in ("p1-final", "p1-merged")]
    assert reports[0]["metrics"] == reports[1]["metrics"] and reports[0]["metrics"]["nDCG@10"] > 0

    # phase 2 from the merged phase-1 model, with LoRA, hard negatives, gradient cache
    _invoke(["train", "--preset", "laconic-1b-phase2", "--model", tmp_path / "p1-merged", "--train-data",
             tmp_path / "train.jsonl", "--output-dir", tmp_path / "p2", "--max-steps", 4, "--batch-size", 4,
             "--passages-per-query", 4, "--lr", 1e-3, "--lora-r", 4, "--lora-alpha", 8, "--gradcache",
             "--gradcache-chunk-size", 8, *TINY])
    records = read_metrics(tmp_path / "p2")
    assert [r["step"] for r in records] == [1, 2, 3, 4] and all(r["ranking"] > 0 for r in records)
    _invoke(["merge", tmp_path / "p2", "--output", tmp_path / "p2-merged"])
    from laconic.encoder import SparseEncoder

    final = SparseEncoder.from_pretrained(tmp_path / "p2-merged", device="cpu")
    assert final.config.bidirectional and len(final.encode_queries(["vitamin d"], show_progress=False)) == 1


def test_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "a", "document": "b"}\n{"query": "c"}\n')
    result = CliRunner().invoke(app, ["train", "--model", "m", "--train-data", str(bad), "--output-dir",
                                      str(tmp_path / "o"), "--report-to", "none"])
    assert result.exit_code != 0
    from laconic.errors import InputError

    assert isinstance(result.exception, InputError)
    assert "bad.jsonl:2" in str(result.exception) and "positive_passages" in str(result.exception)
    result = CliRunner().invoke(app, ["merge", str(tmp_path), "--output", str(tmp_path / "x")])
    assert isinstance(result.exception, InputError) and "final" in str(result.exception)
