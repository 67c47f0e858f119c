"""Search several ``laconic serve`` shards as one collection (scatter, then merge top-k).

The score is a plain dot product with no collection statistics (no idf, no
length normalisation), so a document scores the same in a shard as in the
whole collection: the global top-k is exactly the best k of the union of the
shards' top-k lists. That makes document-partitioned scale-out a client-side
merge, done here. The query is encoded once (by the caller, or by the first
shard's ``/encode``) and sent to every shard as a pre-encoded vector.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence
from typing import Any

from laconic.sparse import SparseVectors


def merge_top_k(per_shard: Sequence[Sequence[dict]], k: int) -> list[dict]:
    """Best ``k`` hits of several best-first hit lists (score desc, then id asc for ties).

    Args:
        per_shard: one list of ``{"id", "score", ...}`` per shard, each sorted best first.
        k: hits to keep.
    """
    merged = heapq.merge(*per_shard, key=lambda hit: (-hit["score"], hit["id"]))
    out, seen = [], set()
    for hit in merged:
        if hit["id"] in seen:  # the same id on two shards: keep its best score
            continue
        seen.add(hit["id"])
        out.append(hit)
        if len(out) == k:
            break
    return out


class FanoutSearcher:
    """Query every shard server concurrently and merge their answers.

    Args:
        urls: base URLs of the shard servers (``laconic serve`` instances, one index shard each).
        timeout: seconds per shard request.

    Example:
        >>> searcher = FanoutSearcher(["http://10.0.0.1:8080", "http://10.0.0.2:8080"])
        >>> hits = await searcher.search(encoder.encode_queries(["vitamin d"]), k=10)
        >>> await searcher.close()
    """

    def __init__(self, urls: Sequence[str], timeout: float = 30.0) -> None:
        import httpx

        if not urls:
            raise ValueError("need at least one shard URL")
        self.urls = list(urls)
        self._client = httpx.AsyncClient(timeout=timeout)

    async def search(self, queries: SparseVectors, k: int = 10, mode: str = "exact") -> list[list[dict]]:
        """Merged top-``k`` per query: ``[{"id", "score", "shard"}]`` best first.

        A shard that fails raises (partial answers would silently lose documents).
        """
        vectors = []
        for i in range(len(queries)):
            ix, vals = queries.row(i)
            vectors.append({"indices": ix.tolist(), "values": vals.tolist()})
        body = {"vectors": vectors, "k": k, "mode": mode}
        answers = await asyncio.gather(*(self._ask(url, body) for url in self.urls))
        merged = []
        for q in range(len(queries)):
            lists = [[{**hit, "shard": s} for hit in answer[q]] for s, answer in enumerate(answers)]
            merged.append(merge_top_k(lists, k))
        return merged

    async def _ask(self, url: str, body: dict[str, Any]) -> list[list[dict]]:
        live = [i for i, v in enumerate(body["vectors"]) if v["indices"]]  # the service refuses empty vectors
        if not live:
            return [[] for _ in body["vectors"]]
        sent = {**body, "vectors": [body["vectors"][i] for i in live]}
        response = await self._client.post(url.rstrip("/") + "/search", json=sent)
        if response.status_code != 200:
            raise RuntimeError(f"shard {url} answered {response.status_code}: {response.text[:200]}")
        results = response.json()["results"]
        out: list[list[dict]] = [[] for _ in body["vectors"]]
        for i, hits in zip(live, results):
            out[i] = hits
        return out

    async def close(self) -> None:
        await self._client.aclose()
