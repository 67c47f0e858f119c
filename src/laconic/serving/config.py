"""``ServeConfig``: every knob of the search service, with its default and why."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from laconic.errors import ConfigError
from laconic.index.config import SearchParams


@dataclass
class ServeConfig:
    """Knobs of ``laconic serve`` (the CLI flags map onto these one to one).

    Args:
        index: index directory, opened memory-mapped (shared by workers through the page cache).
        model: encoder name or path; None serves pre-encoded vectors only.
        tokenizer: tokenizer folder or Hub id for a checkpoint that ships none.
        profile: encoding profile preset name or JSON file (default: the model's own).
        backend: where encoding runs: ``torch``, ``onnx`` or ``openvino`` (``laconic export``).
        int8: int8 weights on that backend.
        corpus: BEIR ``corpus.jsonl`` of the indexed documents: titles and snippets for hits
            (``"snippets": true``) and the search page at ``/``.
        host: bind address; loopback by default, put a reverse proxy in front for the network.
        port: TCP port.
        workers: uvicorn worker processes; each loads its own encoder and maps the same index.
        encode_threads: torch intra-op threads for encoding (None: torch's default).
        search_threads: threads one search call may use (None: the index's default).
        search_concurrency: search calls that may run at once (each in its own thread).
        alpha, query_cut, candidates: the ``SearchParams`` of requests with
            ``"mode": "approximate"`` (see docs/knobs.md; ``query_cut`` 48-64 for
            LACONIC's long queries).
        batch_window_ms: how long an encode request waits to share a forward pass with others.
        max_batch: texts per encoder forward pass.
        query_cache: query vectors kept in an LRU cache (0: off); a repeated query skips the encoder.
        admin_token: if set, ``POST /admin/reload`` needs ``Authorization: Bearer <token>``.
        device: torch device of the encoder (None: the encoder's default).

    Example:
        >>> cfg = ServeConfig(index="idx", model="utahnlp/laconic-1b", batch_window_ms=3)
    """

    index: str | None = None
    model: str | None = None
    tokenizer: str | None = None
    profile: str | None = None
    backend: str = "torch"
    int8: bool = False
    corpus: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    encode_threads: int | None = None
    search_threads: int | None = None
    search_concurrency: int = 4
    alpha: float = 0.95
    query_cut: int = 0
    candidates: int = 0
    batch_window_ms: float = 2.0
    max_batch: int = 32
    query_cache: int = 10_000
    admin_token: str | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        checks = {
            "port": 0 <= self.port <= 65535,
            "workers": self.workers >= 1,
            "encode_threads": self.encode_threads is None or self.encode_threads >= 1,
            "search_threads": self.search_threads is None or self.search_threads >= 1,
            "search_concurrency": self.search_concurrency >= 1,
            "batch_window_ms": 0 <= self.batch_window_ms <= 1000,
            "max_batch": self.max_batch >= 1,
            "query_cache": self.query_cache >= 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"invalid serve settings: {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")
        self.search_params()  # raises ConfigError naming a bad alpha / query_cut / candidates

    def search_params(self) -> SearchParams:
        """The index knobs of approximate requests."""
        return SearchParams(alpha=self.alpha, query_cut=self.query_cut, candidates=self.candidates)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown serve settings: {unknown}")
        return cls(**data)

    def public(self) -> dict:
        """The settings as shown by ``/stats`` (the admin token is never echoed)."""
        out = asdict(self)
        out["admin_token"] = "***" if self.admin_token else None
        return out
