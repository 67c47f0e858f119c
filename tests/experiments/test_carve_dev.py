"""`experiments/carve_dev.py`: a dev split carved from train, disjoint from what phase 2 trains on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from laconic.evaluation.datasets import load_beir

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "carve_dev.py"


def _dataset(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "title": "", "text": f"doc {i}"}) + "\n" for i in range(6)))
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": f"query {i}"}) + "\n" for i in range(10)))
    train = [(f"q{i}", f"d{i % 6}") for i in range(8)] + [("q0", "d5")]  # q0 has two judgements
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in train))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq8\td1\t1\nq9\td2\t1\n")
    return root


def _run(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True, timeout=60)


def test_dev_and_fit_partition_train_and_the_training_file_drops_dev(tmp_path):
    src = _dataset(tmp_path / "src")
    mined = tmp_path / "mined.jsonl"
    mined.write_text("".join(json.dumps({"query_id": f"q{i}", "query": f"query {i}"}) + "\n" for i in range(8)))
    out, fit_file = tmp_path / "carved", tmp_path / "fit.jsonl"
    proc = _run(str(src), str(out), "--dev", "3", "--training", str(mined), str(fit_file))
    assert proc.returncode == 0, proc.stderr

    dev, fit, test = (load_beir(out, s) for s in ("dev", "fit", "test"))
    assert len(dev.query_ids) == 3 and len(fit.query_ids) == 5
    assert set(dev.query_ids) | set(fit.query_ids) == {f"q{i}" for i in range(8)}
    assert not set(dev.query_ids) & set(fit.query_ids)
    judged = {(q, d) for split in (dev, fit) for q, docs in split.qrels.items() for d in docs}
    assert judged == {(f"q{i}", f"d{i % 6}") for i in range(8)} | {("q0", "d5")}  # every judgement kept once
    assert set(test.query_ids) == {"q8", "q9"} and len(test.doc_ids) == 6  # other splits and the corpus are linked
    kept = [json.loads(line)["query_id"] for line in fit_file.read_text().splitlines()]
    assert sorted(kept) == sorted(fit.query_ids)

    again = tmp_path / "again"
    assert _run(str(src), str(again), "--dev", "3").returncode == 0
    assert (again / "qrels" / "dev.tsv").read_text() == (out / "qrels" / "dev.tsv").read_text()  # seeded


def test_refuses_a_dev_split_as_large_as_train(tmp_path):
    src = _dataset(tmp_path / "src")
    proc = _run(str(src), str(tmp_path / "out"), "--dev", "8")
    assert proc.returncode != 0 and "--dev must be between 1 and 7" in proc.stderr
