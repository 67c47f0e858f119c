"""The micro-batcher merges concurrent requests and hands each its own rows."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from doubles import HashEncoder

from laconic.serving import MicroBatcher


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_share_one_forward_pass():
    enc = HashEncoder(delay=0.01)

    async def main():
        batcher = MicroBatcher(enc.encode_queries, window_ms=50, max_batch=64)
        texts = [[f"word{i} shared"] if i % 2 else [f"a{i}", f"b{i}"] for i in range(10)]
        outs = await asyncio.gather(*(batcher.submit(t) for t in texts))
        await batcher.close()
        return texts, outs, batcher

    texts, outs, batcher = run(main())
    assert enc.batch_sizes == [15]  # 5 single + 5 double requests, one call
    assert batcher.batches == 1 and batcher.texts == 15
    for t, out in zip(texts, outs):  # every request got exactly its own rows
        expect = HashEncoder().encode_queries(t)
        assert len(out) == len(t)
        np.testing.assert_array_equal(out.indices, expect.indices)
        np.testing.assert_array_equal(out.indptr, expect.indptr)


def test_max_batch_splits_and_order_is_kept():
    enc = HashEncoder()

    async def main():
        batcher = MicroBatcher(enc.encode_queries, window_ms=30, max_batch=4)
        outs = await asyncio.gather(*(batcher.submit([f"w{i}"]) for i in range(10)))
        await batcher.close()
        return outs

    outs = run(main())
    assert sum(enc.batch_sizes) == 10 and max(enc.batch_sizes) <= 4
    for i, out in enumerate(outs):
        np.testing.assert_array_equal(out.indices, HashEncoder().encode_queries([f"w{i}"]).indices)


def test_zero_window_still_serves_each_request():
    enc = HashEncoder()

    async def main():
        batcher = MicroBatcher(enc.encode_queries, window_ms=0, max_batch=8)
        first = await batcher.submit(["alpha"])
        second = await batcher.submit(["beta gamma"])
        await batcher.close()
        return first, second

    first, second = run(main())
    assert len(first) == 1 and len(second) == 1 and second.nnz == 2


def test_encoder_failure_reaches_every_waiter_and_batcher_recovers():
    calls = []

    def flaky(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return HashEncoder().encode_queries(texts)

    async def main():
        batcher = MicroBatcher(flaky, window_ms=20, max_batch=8)
        failed = await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]), return_exceptions=True)
        ok = await batcher.submit(["c"])
        await batcher.close()
        return failed, ok

    failed, ok = run(main())
    assert all(isinstance(f, RuntimeError) for f in failed)
    assert len(ok) == 1 and calls[-1] == ["c"]


def test_wrong_row_count_is_an_error():
    async def main():
        batcher = MicroBatcher(lambda texts: HashEncoder().encode_queries(texts[:1]), window_ms=10)
        with pytest.raises(RuntimeError, match="returned 1 vectors for 2"):
            await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]))
        await batcher.close()

    run(main())


@pytest.mark.parametrize("kwargs", [{"window_ms": -1}, {"max_batch": 0}])
def test_bad_settings(kwargs):
    with pytest.raises(ValueError):
        MicroBatcher(HashEncoder().encode_queries, **kwargs)


def test_batcher_survives_a_new_event_loop():
    enc = HashEncoder()
    batcher = MicroBatcher(enc.encode_queries, window_ms=1)
    first = run(batcher.submit(["one"]))  # the collector of this loop dies with it
    second = run(batcher.submit(["two three"]))
    run(batcher.close())
    assert len(first) == 1 and second.nnz == 2
