"""Fixtures of the demo tests: a tiny BEIR directory and the tiny encoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Each query shares one rare word ("fractures", "cholesterol", "folding") with exactly one document,
# so BM25 ranks that document first and its nDCG@10 is exactly 1.
DOCS = [
    ("d1", "Vitamin D", "vitamin d deficiency is associated with bone loss and fractures"),
    ("d2", "Statins", "statins reduce cholesterol and the risk of heart disease"),
    ("d3", "Proteins", "protein folding and gene expression in human cells"),
    ("d4", "Foxes", "the quick brown fox jumps over the lazy dog"),
    ("d5", "Sparse", "sparse retrieval with large language models uses an inverted index"),
    ("d6", "Dense", "dense retrievers need much more memory than sparse ones"),
    ("d7", "Terms", "learned term weights come from the language model head"),
    ("d8", "Index", "the index stores posting lists of document ids and weights"),
    ("d9", "Nets", "neural networks learn representations of text for search"),
    ("d10", "Queries", "a query asks a question and a document answers it"),
]
QUERIES = [("1", "bone fractures"), ("2", "cholesterol drugs"), ("3", "folding of proteins")]
QRELS = [("1", "d1", 1), ("2", "d2", 2), ("3", "d3", 1)]


def write_beir(root: Path) -> Path:
    """A BEIR-layout directory (CRLF qrels with a header, as the official files)."""
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as fh:
        for did, title, text in DOCS:
            fh.write(json.dumps({"_id": did, "title": title, "text": text, "metadata": {}}) + "\n")
    with (root / "queries.jsonl").open("w") as fh:
        for qid, text in QUERIES:
            fh.write(json.dumps({"_id": qid, "text": text, "metadata": {}}) + "\n")
    rows = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q, d, g in QRELS]
    (root / "qrels" / "test.tsv").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    return root


@pytest.fixture
def tiny_beir(tmp_path) -> Path:
    return write_beir(tmp_path / "tinybeir")


@pytest.fixture(scope="module")
def tiny_encoder(tiny_llama_dir):
    from laconic.encoder import SparseEncoder

    return SparseEncoder.from_pretrained(str(tiny_llama_dir))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Demo index caches go to the test's tmp dir, never to ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
