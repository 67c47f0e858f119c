"""Typed knobs of the demo, with the defaults ``make demo`` uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DemoConfig:
    """What the demo indexes, which model encodes it, and how much it prints.

    Args:
        dataset: a BEIR directory (corpus.jsonl, queries.jsonl, qrels/) or a corpus JSONL file.
        model: a directory ``SparseEncoder.from_pretrained`` accepts (the shipped model by default).
        split: the qrels split whose queries are shown and scored (never used for training).
        num_queries: how many queries to print with their ranked results.
        queries: extra free-text queries to run (printed after the dataset's queries).
        top_k: results printed per query.
        terms_per_hit: matched query terms printed per result.
        evaluate: also score every query of ``split`` with nDCG@10 against BM25.
        batch_size: encoding batch size.
        max_docs: index only the first ``max_docs`` documents (None or 0: all), plus every
            judged document of the queries that are shown (and scored, if ``evaluate``).
            Encoding is the slow step on a CPU (~0.3 s per document on 2 cores).
        threads: search threads (None: the index's default).
        cache: reuse the index of an earlier run with the same model, corpus and documents.
    """

    dataset: Path
    model: Path
    split: str = "test"
    num_queries: int = 3
    queries: list[str] = field(default_factory=list)
    top_k: int = 5
    terms_per_hit: int = 6
    evaluate: bool = True
    batch_size: int = 32
    max_docs: int | None = None
    threads: int | None = 1
    cache: bool = True
