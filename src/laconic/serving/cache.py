"""An LRU cache of query vectors: a repeated query skips the encoder, the cost of a query.

Search logs repeat: the same head queries come back all day. The encoder is
deterministic for a loaded model, so a query text maps to one vector for the
life of the process (index reloads do not change it). Entries are the
vector's term ids and weights: about 8 bytes per term, so 10,000 queries of
~50 terms hold ~4 MB.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from laconic.sparse import SparseVectors

Row = tuple[np.ndarray, np.ndarray]


class QueryCache:
    """Least-recently-used map from query text to its vector row, with hit counters."""

    def __init__(self, capacity: int, vocab_size: int) -> None:
        self.capacity = capacity
        self.vocab_size = int(vocab_size)  # rows carry none; an all-hit batch still needs it
        self._rows: OrderedDict[str, Row] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def encode(self, texts: Sequence[str], encode: Callable[[list[str]], Awaitable[SparseVectors]]) -> SparseVectors:
        """Vectors of ``texts``: cached rows as they are, the others from one ``encode`` call."""
        found: dict[str, Row] = {}
        for text in texts:
            row = self._rows.get(text)
            if row is not None:
                self._rows.move_to_end(text)
                found[text] = row
        served = sum(text in found for text in texts)
        self.hits += served
        self.misses += len(texts) - served
        missing = list(dict.fromkeys(t for t in texts if t not in found))  # each distinct text encoded once
        if missing:
            fresh = await encode(missing)
            for i, text in enumerate(missing):
                found[text] = fresh.row(i)
                self._put(text, found[text])
        return _stack([found[t] for t in texts], self.vocab_size)

    def _put(self, text: str, row: Row) -> None:
        if self.capacity <= 0:
            return
        self._rows[text] = (row[0].copy(), row[1].copy())
        self._rows.move_to_end(text)
        while len(self._rows) > self.capacity:
            self._rows.popitem(last=False)

    def stats(self) -> dict[str, float]:
        asked = self.hits + self.misses
        return {"entries": len(self._rows), "capacity": self.capacity, "hits": self.hits, "misses": self.misses,
                "hit_rate": self.hits / asked if asked else 0.0}


def _stack(rows: list[Row], vocab_size: int) -> SparseVectors:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r[0]) for r in rows])
    indices = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, np.int32)
    values = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.float32)
    return SparseVectors(indptr, indices, values, vocab_size)
