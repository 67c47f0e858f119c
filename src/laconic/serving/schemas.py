"""Request and response models of the search service, with their size limits.

The limits are part of the contract (they appear in the OpenAPI schema), so a
client learns them from ``/openapi.json`` instead of from a 500. Anything the
models cannot check alone (term ids against the index vocabulary) is checked
in :mod:`laconic.serving.app` and also answered with a 4xx.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Limits: large enough for real use, small enough that one request cannot pin a core for long.
MAX_QUERIES = 256  # queries (texts or vectors) per request
MAX_TEXT_CHARS = 8192  # characters per query or document text
MAX_VECTOR_TERMS = 8192  # non-zeros per pre-encoded vector
MAX_K = 1000  # hits per query
MAX_EXPLAIN_TERMS = 64  # matched terms listed per hit
MAX_BODY_BYTES = 4 << 20  # request body size (413 above it)

Weight = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
TermId = Annotated[int, Field(ge=0, lt=2**31 - 1)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]


class _Strict(BaseModel):
    """Unknown fields are errors: a misspelt ``mode`` must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SparseVectorIn(_Strict):
    """A pre-encoded sparse vector: term ids and their (non-negative) weights."""

    indices: list[TermId] = Field(max_length=MAX_VECTOR_TERMS)
    values: list[Weight] = Field(max_length=MAX_VECTOR_TERMS)

    @model_validator(mode="after")
    def _check(self) -> SparseVectorIn:
        if len(self.indices) != len(self.values):
            raise ValueError(f"indices ({len(self.indices)}) and values ({len(self.values)}) differ in length")
        if len(set(self.indices)) != len(self.indices):
            raise ValueError("indices must be unique")
        if not any(v > 0 for v in self.values):
            raise ValueError("the vector is empty (no positive weight)")
        return self


def _non_blank(texts: list[str]) -> list[str]:
    for i, text in enumerate(texts):
        if not text.strip():
            raise ValueError(f"text {i} is empty or whitespace only")
    return texts


class SearchRequest(_Strict):
    """Search with texts (encoded by the server) or with pre-encoded vectors.

    Give exactly one of ``query``, ``queries`` or ``vectors``.
    """

    query: Text | None = Field(default=None, description="one query text")
    queries: list[Text] | None = Field(default=None, min_length=1, max_length=MAX_QUERIES)
    vectors: list[SparseVectorIn] | None = Field(default=None, min_length=1, max_length=MAX_QUERIES)
    k: int = Field(default=10, ge=1, le=MAX_K, description="hits per query")
    mode: Literal["exact", "approximate"] = "exact"
    explain: bool = Field(default=False, description="list each hit's matched terms and their contributions")
    explain_terms: int = Field(default=16, ge=1, le=MAX_EXPLAIN_TERMS)
    snippets: bool = Field(
        default=False,
        description="add each hit's title and a text snippet (a server started with --corpus); with explain, "
        "the character spans of the matched terms",
    )

    @field_validator("queries")
    @classmethod
    def _queries_non_blank(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _non_blank(value)

    @field_validator("query")
    @classmethod
    def _query_non_blank(cls, value: str | None) -> str | None:
        return None if value is None else _non_blank([value])[0]

    @model_validator(mode="after")
    def _one_input(self) -> SearchRequest:
        given = [name for name in ("query", "queries", "vectors") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of 'query', 'queries' or 'vectors' (got {given or 'none'})")
        return self

    def texts(self) -> list[str] | None:
        """The query texts, or None when the request carries vectors."""
        if self.query is not None:
            return [self.query]
        return self.queries


class MatchedTerm(BaseModel):
    """One query term that matched a hit: its id, token string and share of the score."""

    term_id: int
    token: str
    contribution: float


class Highlight(BaseModel):
    """Characters ``[start, end)`` of ``field`` (the title, or the snippet) where a matched term occurs."""

    field: Literal["title", "text"]
    start: int
    end: int
    term_id: int


class Hit(BaseModel):
    id: str
    score: float
    terms: list[MatchedTerm] | None = None
    title: str | None = None
    snippet: str | None = Field(default=None, description="a window of the document's text")
    snippet_start: int | None = Field(default=None, description="where the snippet starts in the text")
    highlights: list[Highlight] | None = None


class Timing(BaseModel):
    """Server-side time of one request, in milliseconds."""

    encode_ms: float
    search_ms: float
    total_ms: float


class SearchResponse(BaseModel):
    results: list[list[Hit]] = Field(description="one ranked hit list per query, best first")
    index_version: int
    timing: Timing


class EncodeRequest(_Strict):
    texts: list[Text] = Field(min_length=1, max_length=MAX_QUERIES)
    kind: Literal["query", "document"] = "query"
    decode: bool = Field(default=False, description="also return (token, weight) pairs, heaviest first")
    top_k: int | None = Field(default=None, ge=1, le=MAX_VECTOR_TERMS, description="keep only the k heaviest terms")

    @field_validator("texts")
    @classmethod
    def _texts_non_blank(cls, value: list[str]) -> list[str]:
        return _non_blank(value)


class TokenWeight(BaseModel):
    token: str
    weight: float


class SparseVectorOut(BaseModel):
    indices: list[int]
    values: list[float]
    tokens: list[TokenWeight] | None = None


class EncodeResponse(BaseModel):
    vectors: list[SparseVectorOut]
    vocab_size: int
    timing: Timing


class HealthResponse(BaseModel):
    status: Literal["ok"]
    index_version: int
    documents: int
    encoder: bool


class ReloadRequest(_Strict):
    path: str | None = Field(default=None, description="index directory to open; default: reopen the current one")


class ReloadResponse(BaseModel):
    index_version: int
    path: str | None
    documents: int
    previous_version: int


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: a one-line message and, for validation errors, the details."""

    error: str
    detail: list[dict] | None = None
