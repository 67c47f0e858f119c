"""`experiments/prepare_data.py`: weak pairs from corpus text only, and the inner-sentence pairs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "prepare_data.py"

S = [  # four sentences of 30-300 characters each
    "Vitamin D levels were measured in two thousand adults.",
    "Low levels predicted fractures over ten years of follow-up.",
    "The effect remained after adjustment for age and weight.",
    "These findings support screening in older populations.",
]


def _beir(root: Path) -> Path:
    docs = {
        "scifact": [
            {"_id": "a", "title": "Vitamin D and fractures", "text": " ".join(S)},
            {"_id": "b", "title": "Two sentences only", "text": " ".join(S[:2])},  # no inner sentence
        ],
        "nfcorpus": [{"_id": "c", "title": "", "text": " ".join(S[1:])}],
    }
    for name, rows in docs.items():
        (root / name).mkdir(parents=True)
        (root / name / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_inner_sentence_pairs_take_the_sentence_out_of_the_document(tmp_path):
    beir, out = _beir(tmp_path / "beir"), tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--beir", str(beir), "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr

    pairs = {p["query_id"]: p for p in _read(out / "phase1-sentences.jsonl")}
    assert set(pairs) == {"scifact:sentence:a", "nfcorpus:sentence:c"}  # b has no inner sentence
    a = pairs["scifact:sentence:a"]
    assert a["query"] in (S[1], S[2])  # inner: never the first or the last sentence
    kept = [s for s in S if s != a["query"]]
    assert a["positive_passages"] == [{"docid": "scifact:a", "title": "Vitamin D and fractures", "text": " ".join(kept)}]
    c = pairs["nfcorpus:sentence:c"]
    assert c["query"] == S[2] and c["positive_passages"][0]["text"] == f"{S[1]} {S[3]}"

    weak = {p["query_id"]: p for p in _read(out / "phase1.jsonl")}
    assert weak["scifact:title:a"]["query"] == "Vitamin D and fractures"
    assert weak["scifact:span:a"]["query"] == S[0]
    assert weak["scifact:span:a"]["positive_passages"][0]["text"] == " ".join(S[1:])
    assert "nfcorpus:title:c" not in weak  # no title, no title pair

    again = tmp_path / "again"
    subprocess.run([sys.executable, str(SCRIPT), "--beir", str(beir), "--out", str(again)], check=True,
                   capture_output=True, timeout=60)
    for name in ("phase1.jsonl", "phase1-sentences.jsonl"):
        assert (again / name).read_bytes() == (out / name).read_bytes()  # seeded
