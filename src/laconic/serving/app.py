"""``create_app(index, encoder)``: the FastAPI search service.

Everything the app needs is built inside :func:`create_app` and hangs off the
app object (no module-level state), so tests can run several apps side by side
with test doubles, and workers each build their own. The event loop never runs
model or index code: encoding goes through the micro-batcher's worker thread,
searches through a bounded thread pool (numba kernels release the GIL).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib import resources
from typing import Any

import numpy as np
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from laconic.errors import ConfigError, LaconicError, UnknownDocumentError
from laconic.serving import schemas as S
from laconic.serving.batcher import MicroBatcher
from laconic.serving.cache import QueryCache
from laconic.serving.config import ServeConfig
from laconic.serving.metrics import ServiceMetrics
from laconic.serving.middleware import GuardMiddleware
from laconic.serving.registry import IndexRegistry
from laconic.sparse import SparseVectors

log = logging.getLogger("laconic.serving")

_PATHS = {"/", "/search", "/encode", "/health", "/stats", "/admin/reload", "/docs", "/openapi.json"}


@functools.cache
def _page_html() -> str:
    """``static/search.html``: one self-contained file (no build step, no external assets)."""
    return resources.files("laconic.serving").joinpath("static/search.html").read_text(encoding="utf-8")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _jsonable(value: Any) -> Any:
    """numpy scalars/arrays and nested containers -> plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class Service:
    """The per-app state: index versions, encoder, batchers, pools and metrics."""

    def __init__(self, registry: IndexRegistry, encoder: Any, config: ServeConfig, documents: Any = None) -> None:
        self.registry = registry
        self.encoder = encoder
        self.documents = documents
        self.config = config
        self.metrics = ServiceMetrics()
        self.search_pool = ThreadPoolExecutor(config.search_concurrency, thread_name_prefix="laconic-search")
        self.encode_pool = ThreadPoolExecutor(1, thread_name_prefix="laconic-encode")
        self.batchers: dict[str, MicroBatcher] = {}
        self._token_cache: dict[int, str] = {}
        _prepare(encoder, config, registry.current.index)
        if encoder is not None:
            kwargs: dict[str, Any] = {"batch_size": config.max_batch, "show_progress": False}
            if config.encode_threads is not None:
                kwargs["threads"] = config.encode_threads
            fns = {
                "query": partial(encoder.encode_queries, **kwargs),
                "document": partial(encoder.encode_documents, **kwargs),
            }
            for kind, fn in fns.items():
                self.batchers[kind] = MicroBatcher(
                    fn, window_ms=config.batch_window_ms, max_batch=config.max_batch, executor=self.encode_pool
                )
        self.query_cache = QueryCache(config.query_cache) if encoder is not None and config.query_cache > 0 else None

    async def encode(self, texts: list[str], kind: str) -> SparseVectors:
        if self.encoder is None:
            raise HTTPException(400, "this server has no encoder: send pre-encoded 'vectors' instead of texts")
        if kind == "query" and self.query_cache is not None:
            return await self.query_cache.encode(texts, self.batchers[kind].submit)
        return await self.batchers[kind].submit(texts)

    async def run_search(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.search_pool, partial(fn, *args, **kwargs))

    def token_names(self, term_ids: list[int]) -> list[str]:
        """Token strings of term ids, spelt as ``encoder.decode`` spells them (``"#<id>"`` without an encoder)."""
        tokenizer = getattr(self.encoder, "tokenizer", None)
        out = []
        for term in term_ids:
            name = self._token_cache.get(term)
            if name is None:
                name = f"#{term}" if tokenizer is None else str(tokenizer.convert_ids_to_tokens(term))
                if len(self._token_cache) < 1_000_000:
                    self._token_cache[term] = name
            out.append(name)
        return out

    async def close(self) -> None:
        for batcher in self.batchers.values():
            await batcher.close()
        self.search_pool.shutdown(wait=False, cancel_futures=True)
        self.encode_pool.shutdown(wait=False, cancel_futures=True)


def _prepare(encoder: Any, config: ServeConfig, index: Any) -> None:
    """Check an index before it serves (vocabulary); with ``query_cut``, build its forward rows up front."""
    if encoder is not None and int(encoder.vocab_size) != int(index.vocab_size):
        raise ConfigError(
            f"encoder vocabulary ({encoder.vocab_size}) differs from the index's ({index.vocab_size}):"
            " was the index built with another model?"
        )
    if config.query_cut > 0 and hasattr(index, "build_forward"):
        index.build_forward()


def _vectors_from_request(vectors: list[S.SparseVectorIn], vocab_size: int) -> SparseVectors:
    """Pre-encoded query vectors -> SparseVectors; out-of-vocabulary ids are a 422."""
    rows = []
    for i, vec in enumerate(vectors):
        bad = [t for t in vec.indices if t >= vocab_size]
        if bad:
            raise HTTPException(422, f"vectors[{i}]: term id {bad[0]} outside the vocabulary [0, {vocab_size})")
        rows.append(dict(zip(vec.indices, vec.values)))
    return SparseVectors.from_dicts(rows, vocab_size)


def _validation_message(errors: list[dict]) -> tuple[int, str, list[dict]]:
    detail = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in errors
    ]
    if any(e["type"] == "json_invalid" for e in detail):
        return 400, "malformed JSON body", detail
    first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
    where = ".".join(p for p in first["loc"] if p != "body")
    return 422, f"invalid request: {where + ': ' if where else ''}{first['msg']}", detail


def create_app(
    index: Any,
    encoder: Any = None,
    config: ServeConfig | None = None,
    *,
    index_path: str | None = None,
    opener: Any = None,
    documents: Any = None,
) -> FastAPI:
    """Build the search service around an index (and optionally an encoder).

    Args:
        index: a ``SparseIndex`` (or an :class:`IndexRegistry` already holding one).
        encoder: a ``SparseEncoder`` for text queries and ``/encode``; None: vectors only.
        config: service knobs (threads, batch window, limits on admin access).
        index_path: the directory ``index`` was opened from (``/admin/reload`` reopens it).
        opener: path -> index for reloads (default ``SparseIndex.open``).
        documents: a :class:`~laconic.serving.documents.DocumentStore` of the indexed
            texts, for titles, snippets and highlights (``"snippets": true``).

    Example:
        >>> app = create_app(SparseIndex.open("idx"), SparseEncoder.from_pretrained("m"), index_path="idx")
        >>> uvicorn.run(app, host="127.0.0.1", port=8080)
    """
    config = config or ServeConfig()
    search_params = config.search_params()
    registry = index if isinstance(index, IndexRegistry) else IndexRegistry(index, index_path, opener)
    service = Service(registry, encoder, config, documents)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await service.close()

    app = FastAPI(
        title="laconic search",
        description="Learned sparse retrieval: search an inverted index with text or sparse vectors.",
        version="1",
        lifespan=lifespan,
        responses={
            400: {"model": S.ErrorResponse},
            413: {"model": S.ErrorResponse},
            422: {"model": S.ErrorResponse},
        },
    )
    app.state.service = service
    app.add_middleware(GuardMiddleware, metrics=service.metrics, max_body_bytes=S.MAX_BODY_BYTES, known_paths=_PATHS)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message, detail = _validation_message(list(exc.errors()))
        return JSONResponse({"error": message, "detail": detail}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        """The search page: a query box, hits with their matched terms, the query's expansion terms."""
        return HTMLResponse(_page_html())

    @app.post("/search", response_model=S.SearchResponse, summary="Search with texts or sparse vectors")
    async def search(request: S.SearchRequest) -> S.SearchResponse:
        start = time.perf_counter()
        encode_ms = 0.0
        with registry.lease() as current:
            texts = request.texts()
            if texts is not None:
                t0 = time.perf_counter()
                queries = await service.encode(texts, "query")
                encode_ms = _ms(t0)
            else:
                queries = _vectors_from_request(request.vectors or [], current.index.vocab_size)
            t0 = time.perf_counter()
            results = await _search(current.index, queries, request)
            search_ms = _ms(t0)
        total_ms = _ms(start)
        service.metrics.record_search(len(queries), encode_ms, search_ms, total_ms)
        timing = S.Timing(encode_ms=encode_ms, search_ms=search_ms, total_ms=total_ms)
        return S.SearchResponse(results=results, index_version=current.version, timing=timing)

    async def _search(index: Any, queries: SparseVectors, request: S.SearchRequest) -> list[list[S.Hit]]:
        live = np.flatnonzero(queries.row_nnz() > 0)  # an all-zero query matches nothing
        hits: list[list[S.Hit]] = [[] for _ in range(len(queries))]
        if live.size == 0 or len(index) == 0:
            return hits
        batch = queries[live]
        try:
            found = await service.run_search(
                index.search, batch, k=request.k, mode=request.mode, params=search_params, threads=config.search_threads
            )
        except (LaconicError, ValueError) as exc:  # the index rejected the query: the client's problem
            raise HTTPException(422, f"search rejected: {exc}") from exc
        for j, (row, ids, scores) in enumerate(zip(live.tolist(), found.ids, found.scores)):
            terms = None
            if request.explain and len(ids):
                terms = await _explain(index, batch[j], list(ids), request.explain_terms)
            hits[row] = [
                S.Hit(id=doc, score=float(score), terms=None if terms is None else terms[h])
                for h, (doc, score) in enumerate(zip(ids, scores))
            ]
            if request.snippets and service.documents is not None:
                _add_snippets(hits[row])
        return hits

    def _add_snippets(hits: list[S.Hit]) -> None:
        from laconic.serving.documents import snippet

        tokenizer = getattr(service.encoder, "tokenizer", None)
        profile = getattr(service.encoder, "profile", None)
        for hit in hits:
            record = service.documents.get(hit.id)
            if record is None:
                continue
            matched = {t.term_id for t in hit.terms or []} if tokenizer is not None and profile is not None else set()
            text, start, spans = snippet(tokenizer, profile, record, matched)
            hit.title = record.get("title")
            hit.snippet, hit.snippet_start = text, start
            if hit.terms is not None:
                hit.highlights = [S.Highlight(field=sp.field, start=sp.start, end=sp.end, term_id=sp.term_id) for sp in spans]

    async def _explain(index: Any, query: SparseVectors, ids: list[str], limit: int) -> list[list[S.MatchedTerm]]:
        try:
            per_doc = await service.run_search(index.explain, query, ids)
        except UnknownDocumentError:  # a hit deleted between search and explain (in-place delete): explain the rest
            per_doc = []
            for doc in ids:
                try:
                    per_doc.extend(await service.run_search(index.explain, query, [doc]))
                except UnknownDocumentError:
                    per_doc.append([])
        out = []
        for contributions in per_doc:
            top = list(contributions)[:limit]
            names = service.token_names([int(t) for t, _ in top])
            out.append(
                [S.MatchedTerm(term_id=int(t), token=n, contribution=float(c)) for (t, c), n in zip(top, names)]
            )
        return out

    @app.post("/encode", response_model=S.EncodeResponse, summary="Encode texts into sparse vectors")
    async def encode(request: S.EncodeRequest) -> S.EncodeResponse:
        start = time.perf_counter()
        vectors = await service.encode(list(request.texts), request.kind)
        if request.top_k is not None:
            vectors = vectors.top_k(request.top_k)
        out = []
        for i in range(len(vectors)):
            ix, vals = vectors.row(i)
            tokens = None
            if request.decode:
                tokens = [S.TokenWeight(token=t, weight=float(w)) for t, w in service.encoder.decode(vectors[i])]
            out.append(S.SparseVectorOut(indices=ix.tolist(), values=vals.tolist(), tokens=tokens))
        encode_ms = _ms(start)
        service.metrics.record_encode(len(vectors), encode_ms)
        return S.EncodeResponse(
            vectors=out,
            vocab_size=vectors.vocab_size,
            timing=S.Timing(encode_ms=encode_ms, search_ms=0.0, total_ms=encode_ms),
        )

    @app.get("/health", response_model=S.HealthResponse, summary="Liveness and the served index version")
    async def health() -> S.HealthResponse:
        current = registry.current
        return S.HealthResponse(
            status="ok", index_version=current.version, documents=len(current.index), encoder=encoder is not None
        )

    @app.get("/stats", summary="Index size, query counts, latency percentiles (encode/search/total)")
    async def stats() -> dict:
        current = registry.current
        index_stats = current.index.stats() if hasattr(current.index, "stats") else {}
        batchers = {k: {"batches": b.batches, "texts": b.texts} for k, b in service.batchers.items()}
        return _jsonable(
            {
                "index": {
                    "version": current.version,
                    "path": current.path,
                    "documents": len(current.index),
                    "vocab_size": current.index.vocab_size,
                    **index_stats,
                },
                "in_flight": registry.in_flight(),
                "batchers": batchers,
                "query_cache": service.query_cache.stats() if service.query_cache is not None else None,
                "config": config.public(),
                **service.metrics.snapshot(),
            }
        )

    @app.post("/admin/reload", response_model=S.ReloadResponse, summary="Swap in a new index version")
    async def reload(
        request: S.ReloadRequest | None = None, authorization: str | None = Header(default=None)
    ) -> S.ReloadResponse:
        if config.admin_token is not None and authorization != f"Bearer {config.admin_token}":
            raise HTTPException(401, "admin token required (Authorization: Bearer <token>)")
        path = request.path if request is not None else None
        previous = registry.current.version

        def open_and_swap() -> Any:
            return registry.reload(path, validate=partial(_prepare, encoder, config))

        try:
            current = await asyncio.get_running_loop().run_in_executor(None, open_and_swap)
        except (LaconicError, ValueError, OSError) as exc:
            raise HTTPException(422, f"reload failed, still serving version {previous}: {exc}") from exc
        return S.ReloadResponse(
            index_version=current.version, path=current.path, documents=len(current.index), previous_version=previous
        )

    return app
