"""Test doubles with the encoder and index contracts, small and obviously correct.

``BruteForceIndex`` scores by a scipy sparse product (the oracle any real index
must match); ``HashEncoder`` maps each word to a term id by a fixed hash. They
let the service be tested apart from the real model and index kernels.
"""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass

import numpy as np

from laconic.sparse import SparseVectors

VOCAB = 384


@dataclass
class Results:
    ids: list[list[str]]
    scores: list[np.ndarray]


class BruteForceIndex:
    """Exact top-k by a full sparse product; ``delay`` (s) slows each search for concurrency tests."""

    def __init__(self, vectors: SparseVectors, ids: list[str], delay: float = 0.0) -> None:
        self.vectors, self.doc_ids, self.delay = vectors, list(ids), delay
        self.vocab_size = vectors.vocab_size
        self.searches = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.doc_ids)

    def search(self, queries: SparseVectors, k: int = 10, mode: str = "exact", params=None, threads=None) -> Results:
        if mode not in ("exact", "approximate"):
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            self.searches += 1
        if self.delay:
            time.sleep(self.delay)
        scores = (queries.to_scipy() @ self.vectors.to_scipy().T).toarray()
        ids, out = [], []
        for row in scores:
            order = np.lexsort((np.arange(row.size), -row))
            order = order[row[order] > 0][:k]
            ids.append([self.doc_ids[i] for i in order])
            out.append(row[order].astype(np.float32))
        return Results(ids, out)

    def explain(self, query: SparseVectors, doc_ids: list[str]) -> list[list[tuple[int, float]]]:
        position = {d: i for i, d in enumerate(self.doc_ids)}
        q = dict(zip(*map(np.ndarray.tolist, query.row(0))))
        out = []
        for doc in doc_ids:
            ix, vals = self.vectors.row(position[doc])
            pairs = [(int(t), q[t] * float(w)) for t, w in zip(ix.tolist(), vals.tolist()) if t in q]
            out.append(sorted(pairs, key=lambda p: -p[1]))
        return out

    def stats(self) -> dict:
        return {"nnz": np.int64(self.vectors.nnz), "kind": "brute-force double"}


class _Tokenizer:
    def convert_ids_to_tokens(self, ids):
        return f"tok{ids}" if isinstance(ids, int) else [f"tok{i}" for i in ids]


class HashEncoder:
    """Each word -> term ``crc32(word) % vocab`` with weight ``1 + log(count)``; records batch sizes."""

    def __init__(self, vocab_size: int = VOCAB, delay: float = 0.0) -> None:
        self.vocab_size, self.delay = vocab_size, delay
        self.tokenizer = _Tokenizer()
        self.batch_sizes: list[int] = []

    def _encode(self, texts: list[str]) -> SparseVectors:
        self.batch_sizes.append(len(texts))
        if self.delay:
            time.sleep(self.delay)
        rows = []
        for text in texts:
            row: dict[int, float] = {}
            for word in text.lower().split():
                term = zlib.crc32(word.encode()) % self.vocab_size
                row[term] = row.get(term, 0.0) + 1.0
            rows.append({t: 1.0 + float(np.log(c)) for t, c in row.items()})
        return SparseVectors.from_dicts(rows, self.vocab_size)

    def encode_queries(self, texts, batch_size: int = 32, show_progress=None, ids=None, **kwargs) -> SparseVectors:
        return self._encode(list(texts))

    def encode_documents(self, docs, batch_size: int = 32, show_progress=None, ids=None, **kwargs) -> SparseVectors:
        return self._encode([d if isinstance(d, str) else f"{d.get('title', '')} {d['text']}" for d in docs])

    def decode(self, vector: SparseVectors, top_k=None) -> list[tuple[str, float]]:
        ix, vals = vector.row(0)
        pairs = sorted(zip(ix.tolist(), vals.tolist()), key=lambda p: -p[1])[:top_k]
        return [(f"tok{t}", w) for t, w in pairs]


CORPUS = {
    "d0": "sparse retrieval with an inverted index",
    "d1": "the quick brown fox jumps over the lazy dog",
    "d2": "vitamin d deficiency and bone loss",
    "d3": "dense retrievers need more memory than sparse retrievers",
    "d4": "statins reduce cholesterol and heart disease risk",
    "d5": "an inverted index stores posting lists",
}


def corpus_index(encoder: HashEncoder, delay: float = 0.0, suffix: str = "") -> BruteForceIndex:
    ids = [d + suffix for d in CORPUS]
    return BruteForceIndex(encoder.encode_documents(list(CORPUS.values())), ids, delay=delay)
