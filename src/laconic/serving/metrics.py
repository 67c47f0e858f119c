"""Request counters and latency percentiles for ``GET /stats``.

Latencies are kept in bounded windows (the last ``window`` requests), so the
memory is constant however long the server runs and the percentiles describe
recent traffic. Encoding and search are recorded apart: they scale with
different knobs (encode threads and batch window vs. search threads and mode).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np

_PARTS = ("encode", "search", "total")


class ServiceMetrics:
    """Thread-safe counters and latency windows.

    Args:
        window: how many recent samples each percentile is computed over.
    """

    def __init__(self, window: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self._latency = {part: deque(maxlen=window) for part in _PARTS}
        self.requests: Counter[str] = Counter()  # per endpoint
        self.statuses: Counter[int] = Counter()  # per HTTP status
        self.queries = 0  # queries searched (a request may carry many)
        self.encoded_texts = 0

    def record_request(self, endpoint: str, status: int) -> None:
        with self._lock:
            self.requests[endpoint] += 1
            self.statuses[status] += 1

    def record_search(self, n_queries: int, encode_ms: float, search_ms: float, total_ms: float) -> None:
        with self._lock:
            self.queries += n_queries
            if encode_ms > 0:
                self._latency["encode"].append(encode_ms)
            self._latency["search"].append(search_ms)
            self._latency["total"].append(total_ms)

    def record_encode(self, n_texts: int, encode_ms: float) -> None:
        with self._lock:
            self.encoded_texts += n_texts
            self._latency["encode"].append(encode_ms)

    def snapshot(self) -> dict:
        """A JSON-ready view: counts, and p50/p90/p99/mean (ms) per part."""
        with self._lock:
            samples = {part: np.fromiter(self._latency[part], float) for part in _PARTS}
            out = {
                "uptime_s": round(time.time() - self.started, 3),
                "requests": dict(self.requests),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "queries": self.queries,
                "encoded_texts": self.encoded_texts,
            }
        latency = {}
        for part, values in samples.items():
            if values.size:
                p50, p90, p99 = np.percentile(values, [50, 90, 99])
                latency[part] = {
                    "count": int(values.size),
                    "p50_ms": round(float(p50), 3),
                    "p90_ms": round(float(p90), 3),
                    "p99_ms": round(float(p99), 3),
                    "mean_ms": round(float(values.mean()), 3),
                }
            else:
                latency[part] = {"count": 0}
        out["latency"] = latency
        return out
