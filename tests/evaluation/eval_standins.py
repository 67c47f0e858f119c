"""Stand-ins that follow the encoder and index contracts with obvious implementations.

``HashEncoder`` hashes a bag of words into columns; ``BruteIndex`` does brute-force
dot products. They let the harness be tested on its own and serve as oracles.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from laconic.sparse import SparseVectors

VOCAB = 4096
_WORD = re.compile(r"\w\w+")


class HashEncoder:
    """Bag of words hashed into ``VOCAB`` columns with log(1 + tf) weights (a lexical stand-in)."""

    def __init__(self) -> None:
        self.model = SimpleNamespace(config=SimpleNamespace(hidden_size=64), name_or_path="stand-ins/hash-encoder")
        self.vocab_size = VOCAB

    def _encode(self, texts: list[str], ids) -> SparseVectors:
        rows = []
        for text in texts:
            row: dict[int, float] = {}
            for word in _WORD.findall(text.lower()):
                term = zlib.crc32(word.encode()) % VOCAB
                row[term] = row.get(term, 0.0) + 1.0
            rows.append({t: float(np.log1p(c)) for t, c in row.items()})
        return SparseVectors.from_dicts(rows, VOCAB, ids=ids)

    def encode_documents(self, docs, batch_size=32, show_progress=None, ids=None) -> SparseVectors:
        texts = [d if isinstance(d, str) else f"{d.get('title', '')} {d.get('text', '')}" for d in docs]
        return self._encode(texts, ids)

    def encode_queries(self, texts, batch_size=32, show_progress=None, ids=None) -> SparseVectors:
        return self._encode(list(texts), ids)


class BruteIndex:
    """Exhaustive dot products with scipy; ties broken by lower internal id."""

    def __init__(self, vectors: SparseVectors, ids: list[str]) -> None:
        self.vectors, self.ids = vectors, list(ids)
        self.vocab_size = vectors.vocab_size

    @classmethod
    def build(cls, vectors, ids=None, config=None, show_progress=None) -> BruteIndex:
        return cls(vectors, ids if ids is not None else vectors.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, queries, k=10, mode="exact", params=None, threads=None):
        scores = (queries.to_scipy() @ self.vectors.to_scipy().T).toarray()
        out_ids, out_scores = [], []
        for row in scores:
            order = np.lexsort((np.arange(row.size), -row))[:k]
            out_ids.append([self.ids[i] for i in order])
            out_scores.append(row[order].astype(np.float32))
        return SimpleNamespace(ids=out_ids, scores=out_scores)

    def stats(self) -> dict:
        v = self.vectors
        return {"memory_bytes": int(v.indptr.nbytes + v.indices.nbytes + v.values.nbytes), "n_docs": len(self)}

    def save(self, path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        self.vectors.save(Path(path) / "vectors.npz")
