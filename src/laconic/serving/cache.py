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

from laconic.sparse import SparseVectors


class QueryCache:
    """Least-recently-used map from query text to its vector row, with hit counters."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[str, SparseVectors] = OrderedDict()  # one-row vectors
        self.hits = 0
        self.misses = 0

    async def encode(self, texts: Sequence[str], encode: Callable[[list[str]], Awaitable[SparseVectors]]) -> SparseVectors:
        """Vectors of ``texts``: cached rows as they are, the others from one ``encode`` call."""
        found: dict[str, SparseVectors] = {}
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
                found[text] = fresh[i]
                self._put(text, found[text])
        return SparseVectors.concat([found[t] for t in texts])

    def _put(self, text: str, row: SparseVectors) -> None:
        if self.capacity <= 0:
            return
        self._rows[text] = row
        self._rows.move_to_end(text)
        while len(self._rows) > self.capacity:
            self._rows.popitem(last=False)

    def stats(self) -> dict[str, float]:
        asked = self.hits + self.misses
        return {"entries": len(self._rows), "capacity": self.capacity, "hits": self.hits, "misses": self.misses,
                "hit_rate": self.hits / asked if asked else 0.0}

