"""The query-vector LRU cache: same vectors as the encoder, fewer encoder calls, bounded size."""

from __future__ import annotations

import asyncio

import numpy as np

from laconic.serving.cache import QueryCache
from laconic.sparse import SparseVectors


class CountingEncoder:
    """A deterministic stand-in: each distinct text its own vector; counts the texts it encodes."""

    vocab_size = 50

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def __call__(self, texts: list[str]) -> SparseVectors:
        self.calls.append(list(texts))
        return SparseVectors.from_dicts([self.row(t) for t in texts], vocab_size=self.vocab_size)

    @staticmethod
    def row(text: str) -> dict[int, float]:
        return {len(text) % 50: 1.0 + len(text), (3 * len(text)) % 50: 0.5} if text else {}


def test_cache_returns_the_encoder_vectors_and_skips_repeats():
    encoder, cache = CountingEncoder(), QueryCache(capacity=3)
    texts = ["a", "bb", "a", "", "ccc"]

    got = asyncio.run(cache.encode(texts, encoder))
    want = SparseVectors.from_dicts([encoder.row(t) for t in texts], vocab_size=50)
    np.testing.assert_array_equal(got.to_dense(), want.to_dense())
    assert encoder.calls == [["a", "bb", "", "ccc"]]  # each distinct text once

    again = asyncio.run(cache.encode(["ccc", "bb", "dddd"], encoder))
    np.testing.assert_array_equal(again.to_dense(), SparseVectors.from_dicts(
        [encoder.row(t) for t in ["ccc", "bb", "dddd"]], vocab_size=50).to_dense())
    assert encoder.calls[-1] == ["dddd"]
    stats = cache.stats()
    assert stats["entries"] == 3 and (stats["hits"], stats["misses"]) == (2, 6)

    asyncio.run(cache.encode(["a"], encoder))  # "a" was evicted (least recently used)
    assert encoder.calls[-1] == ["a"]
    assert len(asyncio.run(cache.encode(["a", "a"], encoder))) == 2 and encoder.calls[-1] == ["a"]


def test_capacity_zero_never_stores():
    encoder, cache = CountingEncoder(), QueryCache(capacity=0)
    asyncio.run(cache.encode(["x"], encoder))
    asyncio.run(cache.encode(["x"], encoder))
    assert len(encoder.calls) == 2 and cache.stats()["entries"] == 0
