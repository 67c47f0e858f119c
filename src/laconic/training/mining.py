"""Hard-negative mining: retrieve top-``depth`` documents per training query, drop the judged positives.

Retrieval runs either through our own index (a trained encoder's vectors in a
:class:`laconic.index.SparseIndex`, exact search) or BM25 (``bm25s``). The output is
Tevatron JSONL, phase 2's input::

    {"query_id": ..., "query": ..., "positive_passages": [{"docid", "title", "text"}],
     "negative_passages": [...]}

BEIR inputs are read with the evaluation team's :func:`laconic.evaluation.datasets.load_beir`
(errors name file, line and field).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import ConfigError, InputError
from laconic.storage import atomic_file


@dataclass
class MiningConfig:
    """Knobs of ``laconic mine``.

    Args:
        depth: documents retrieved per query (candidates for negatives).
        skip: ignore the top ``skip`` ranks (they are often unjudged positives).
        max_negatives: keep at most this many negatives per query, best-ranked first (0: all).
        bm25: mine with BM25 instead of the encoder.
        batch_size: texts per encoder batch.
        min_grade: qrels grade from which a document counts as positive.
    """

    depth: int = 100  # retrieved documents per query
    skip: int = 0  # top ranks ignored (false-negative guard)
    max_negatives: int = 0  # cap on negatives per query (0: keep all)
    bm25: bool = False  # BM25 (bm25s) instead of the encoder + our index
    batch_size: int = 32  # encoder batch size
    min_grade: int = 1  # qrels grade counted as positive


def load_training_split(corpus: str | Path, queries: str | Path, qrels: str | Path) -> Any:
    """A :class:`BeirDataset` from three files, reusing ``load_beir`` (which wants a BEIR folder).

    Files already in BEIR layout (``d/corpus.jsonl``, ``d/queries.jsonl``,
    ``d/qrels/<split>.tsv``) are read in place; otherwise a temporary folder of
    symbolic links presents them in that layout.
    """
    from laconic.evaluation.datasets import load_beir

    corpus, queries, qrels = Path(corpus), Path(queries), Path(qrels)
    for path, what in ((corpus, "corpus"), (queries, "queries"), (qrels, "qrels")):
        if not path.is_file():
            raise InputError(f"{what} file not found", path=path)
    root = corpus.parent
    split = qrels.stem
    if (corpus.name == "corpus.jsonl" and queries.resolve() == (root / "queries.jsonl").resolve()
            and qrels.resolve() == (root / "qrels" / qrels.name).resolve()):
        return load_beir(root, split)
    with tempfile.TemporaryDirectory(prefix="laconic-mine-") as tmp:
        (Path(tmp) / "qrels").mkdir()
        os.symlink(corpus.resolve(), Path(tmp) / "corpus.jsonl")
        os.symlink(queries.resolve(), Path(tmp) / "queries.jsonl")
        os.symlink(qrels.resolve(), Path(tmp) / "qrels" / f"{split}.tsv")
        return load_beir(tmp, split)


def _bm25_rankings(dataset: Any, depth: int) -> np.ndarray:
    """``(n_queries, depth)`` corpus row numbers, best first, by BM25 (stemmed, English stopwords)."""
    import bm25s
    import Stemmer

    from laconic.evaluation.datasets import document_text

    stemmer = Stemmer.Stemmer("english")
    texts = [document_text(t, x) for t, x in zip(dataset.titles, dataset.texts)]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    q_tokens = bm25s.tokenize(dataset.queries, stopwords="en", stemmer=stemmer, show_progress=False)
    docs, _scores = retriever.retrieve(q_tokens, k=min(depth, len(texts)), show_progress=False)
    return np.asarray(docs)


def _encoder_rankings(dataset: Any, encoder: Any, depth: int, batch_size: int) -> list[list[str]]:
    """Doc ids per query, best first, by the encoder's vectors in our inverted index (exact search)."""
    from laconic.index import SparseIndex

    doc_vectors = encoder.encode_documents(dataset.documents, batch_size=batch_size)
    index = SparseIndex.build(doc_vectors, ids=list(dataset.doc_ids))
    query_vectors = encoder.encode_queries(dataset.queries, batch_size=batch_size)
    results = index.search(query_vectors, k=min(depth, len(dataset.doc_ids)), mode="exact")
    return results.ids


def mine_hard_negatives(dataset: Any, config: MiningConfig, encoder: Any = None) -> Iterator[dict[str, Any]]:
    """Yield one Tevatron record per query that has at least one positive.

    Args:
        dataset: a ``BeirDataset`` (corpus, queries with qrels).
        config: depth, skip, cap, retriever choice.
        encoder: a ``SparseEncoder`` (required unless ``config.bm25``).
    """
    if config.depth < 1 or config.skip < 0 or config.max_negatives < 0:
        raise ConfigError("mining: depth must be >= 1, skip and max_negatives >= 0")
    if config.bm25:
        rows = _bm25_rankings(dataset, config.depth)
        ranked = [[dataset.doc_ids[int(r)] for r in row] for row in rows]
    else:
        if encoder is None:
            raise ConfigError("mining needs an encoder (--model) unless --bm25 is given")
        ranked = _encoder_rankings(dataset, encoder, config.depth, config.batch_size)
    row_of = {d: i for i, d in enumerate(dataset.doc_ids)}

    def passage(doc_id: str) -> dict[str, str]:
        i = row_of[doc_id]
        return {"docid": doc_id, "title": dataset.titles[i], "text": dataset.texts[i]}

    for qid, query, candidates in zip(dataset.query_ids, dataset.queries, ranked):
        judged = dataset.qrels.get(qid, {})
        # a judged document missing from the corpus (a published-dataset quirk) has no text to train on
        positives = [d for d, g in judged.items() if g >= config.min_grade and d in row_of]
        if not positives:
            continue
        negatives = [d for d in candidates[config.skip:] if judged.get(d, 0) < config.min_grade]
        if config.max_negatives:
            negatives = negatives[: config.max_negatives]
        yield {
            "query_id": qid,
            "query": query,
            "positive_passages": [passage(d) for d in positives],
            "negative_passages": [passage(d) for d in negatives],
        }


def write_tevatron(records: Iterator[dict[str, Any]], path: str | Path) -> int:
    """Write records as JSONL atomically; return how many were written."""
    count = 0
    with atomic_file(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
