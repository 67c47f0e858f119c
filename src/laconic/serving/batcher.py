"""Micro-batching of concurrent encode requests.

A transformer forward pass over 16 short queries costs little more than over
one, so concurrent requests are worth merging: each request's texts wait up to
``window_ms`` for company, then one ``encode`` call serves them all and every
request gets back its own rows. One worker thread runs the encoder (torch
parallelises inside a call; two concurrent forward passes would only fight for
the same cores).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from laconic.sparse import SparseVectors


@dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Merge concurrent ``submit`` calls into batched calls of ``encode_fn``.

    Args:
        encode_fn: texts -> ``SparseVectors`` with one row per text (runs in a worker thread).
        window_ms: how long the first waiting request waits for others to join.
        max_batch: texts per ``encode_fn`` call; a request larger than this runs alone.
        executor: where ``encode_fn`` runs; default: a private one-thread pool.

    Example:
        >>> batcher = MicroBatcher(encoder.encode_queries, window_ms=2, max_batch=32)
        >>> vectors = await batcher.submit(["what is sparse retrieval"])
        >>> await batcher.close()
    """

    def __init__(
        self,
        encode_fn: Callable[[list[str]], SparseVectors],
        *,
        window_ms: float = 2.0,
        max_batch: int = 32,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        if window_ms < 0:
            raise ValueError(f"window_ms must be >= 0, got {window_ms}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.encode_fn = encode_fn
        self.window = window_ms / 1000.0
        self.max_batch = max_batch
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="laconic-encode")
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0  # encode calls made
        self.texts = 0  # texts encoded

    async def submit(self, texts: Sequence[str]) -> SparseVectors:
        """Encode ``texts`` (possibly together with other requests' texts)."""
        texts = list(texts)
        if not texts:
            raise ValueError("nothing to encode")
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            # First call, or a new event loop (e.g. a test client per request): start a collector here.
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run())
        pending = _Pending(texts, loop.create_future())
        assert self._queue is not None
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        """Collect one window's requests, encode them together, hand out the rows."""
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            size = len(batch[0].texts)
            deadline = time.monotonic() + self.window
            while size < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0 and queue.empty():
                    break
                try:
                    item = queue.get_nowait() if remaining <= 0 else await asyncio.wait_for(queue.get(), remaining)
                except (asyncio.TimeoutError, asyncio.QueueEmpty):
                    break
                if size + len(item.texts) > self.max_batch:
                    # Does not fit: run it in the next batch, first in line.
                    await self._encode(loop, batch)
                    batch, size = [item], len(item.texts)
                    deadline = time.monotonic() + self.window
                    continue
                batch.append(item)
                size += len(item.texts)
            await self._encode(loop, batch)

    async def _encode(self, loop: asyncio.AbstractEventLoop, batch: list[_Pending]) -> None:
        live = [p for p in batch if not p.future.done()]  # a cancelled request needs no encoding
        if not live:
            return
        texts = [t for p in live for t in p.texts]
        try:
            vectors = await loop.run_in_executor(self._executor, self.encode_fn, texts)
            if len(vectors) != len(texts):
                raise RuntimeError(f"encoder returned {len(vectors)} vectors for {len(texts)} texts")
        except Exception as exc:  # every waiting request learns of the failure; the loop lives on
            for p in live:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        self.batches += 1
        self.texts += len(texts)
        start = 0
        for p in live:
            stop = start + len(p.texts)
            if not p.future.done():
                p.future.set_result(vectors[start:stop])
            start = stop

    async def close(self) -> None:
        """Stop the collecting task and the private executor."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)
