"""Document-partitioned serving: two shard servers, merged top-k equals one index's top-k."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from laconic.index import BuildConfig, SparseIndex
from laconic.serving import FanoutSearcher, ServeConfig, create_app, merge_top_k
from laconic.serving.background import BackgroundServer
from laconic.sparse import SparseVectors

VOCAB = 500


def random_vectors(n: int, nnz: int, seed: int, prefix: str) -> SparseVectors:
    rng = np.random.default_rng(seed)
    rows = [dict(zip(rng.choice(120, nnz, replace=False).tolist(), rng.uniform(0.1, 2, nnz).tolist()))
            for _ in range(n)]
    return SparseVectors.from_dicts(rows, VOCAB, ids=[f"{prefix}{i}" for i in range(n)])


def test_merge_top_k_orders_dedups_and_cuts():
    a = [{"id": "x", "score": 3.0}, {"id": "y", "score": 1.0}]
    b = [{"id": "z", "score": 2.0}, {"id": "w", "score": 1.0}, {"id": "x", "score": 0.5}]
    assert [h["id"] for h in merge_top_k([a, b], 3)] == ["x", "z", "w"]  # tie at 1.0: "w" < "y"
    assert merge_top_k([[], []], 5) == []


def test_two_shards_answer_like_one_index():
    docs = random_vectors(400, 20, seed=3, prefix="d")
    queries = SparseVectors.concat([random_vectors(12, 5, seed=4, prefix="q"), SparseVectors.empty(VOCAB, 1)])
    config = BuildConfig(weight_bits=32)
    whole = SparseIndex.build(docs, config=config)
    shards = [SparseIndex.build(docs[:170], config=config), SparseIndex.build(docs[170:], config=config)]
    expect = whole.search(queries, k=10)  # also compiles the kernels before the servers need them
    apps = [create_app(s, None, ServeConfig(search_threads=1)) for s in shards]
    with BackgroundServer(apps[0]) as s0, BackgroundServer(apps[1]) as s1:

        async def run():
            searcher = FanoutSearcher([s0.url, s1.url], timeout=120)
            try:
                return await searcher.search(queries, k=10)
            finally:
                await searcher.close()

        merged = asyncio.run(run())
    assert len(merged) == len(queries) and merged[-1] == []
    for hits, ids, scores in zip(merged, expect.ids, expect.scores):
        np.testing.assert_allclose([h["score"] for h in hits], scores, rtol=1e-6)
        assert {h["id"] for h in hits} == set(ids) or len(set(np.round(scores, 5))) < len(scores)  # ties may swap
        assert {h["shard"] for h in hits} <= {0, 1}


def test_a_failing_shard_is_an_error():
    async def run():
        searcher = FanoutSearcher(["http://127.0.0.1:9"])  # nothing listens on the discard port
        try:
            await searcher.search(random_vectors(1, 3, seed=1, prefix="q"), k=3)
        finally:
            await searcher.close()

    with pytest.raises(Exception):
        asyncio.run(run())
