"""Random and malformed requests against a live server on loopback: 4xx, never 5xx or a crash."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laconic.encoder import SparseEncoder
from laconic.index import SparseIndex
from laconic.serving import ServeConfig, create_app
from laconic.serving.background import BackgroundServer

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(tiny_llama_dir):
    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=32)
    docs = encoder.encode_documents(["vitamin d and bone loss", "an inverted index of posting lists", "heart disease"])
    index = SparseIndex.build(docs, ["a", "b", "c"])
    app = create_app(index, encoder, ServeConfig(batch_window_ms=1, encode_threads=1))
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        srv.client = client
        yield srv
        assert srv.alive()
        assert client.get("/health").status_code == 200


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    json_body = response.headers.get("content-type", "").startswith("application/json") and response.content
    if response.status_code >= 400 and json_body:
        body = response.json()
        assert isinstance(body, dict) and ("error" in body or "detail" in body), body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
texts = st.text(max_size=60)  # any unicode, incl. control characters and the empty string
fields = {
    "query": texts | json_values,
    "queries": st.lists(texts, max_size=5) | json_values,
    "vectors": st.lists(
        st.fixed_dictionaries(
            {"indices": st.lists(st.integers(-5, 2**40), max_size=5), "values": st.lists(st.floats(), max_size=5)}
        ),
        max_size=3,
    )
    | json_values,
    "k": st.integers(-5, 2**40) | json_values,
    "mode": st.sampled_from(["exact", "approximate", "EXACT", "", "fuzzy"]) | json_values,
    "explain": st.booleans() | json_values,
    "explain_terms": st.integers(-5, 100) | json_values,
}
search_bodies = st.fixed_dictionaries({}, optional=fields)
encode_bodies = st.fixed_dictionaries(
    {},
    optional={
        "texts": st.lists(texts, max_size=4) | json_values,
        "kind": st.sampled_from(["query", "document", "passage"]) | json_values,
        "decode": st.booleans() | json_values,
        "top_k": st.integers(-5, 10**6) | json_values,
    },
)


@FUZZ
@given(body=search_bodies)
def test_search_bodies(server, body):
    _check(server.client.post("/search", content=json.dumps(body, allow_nan=True),
                              headers={"content-type": "application/json"}))


@FUZZ
@given(body=encode_bodies)
def test_encode_bodies(server, body):
    _check(server.client.post("/encode", content=json.dumps(body, allow_nan=True),
                              headers={"content-type": "application/json"}))


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=st.sampled_from(["/search", "/encode", "/health", "/stats", "/admin/reload", "/", "/nope", "/search/x"]),
    raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_raw_requests(server, method, path, raw, content_type):
    headers = {"content-type": content_type} if content_type else {}
    _check(server.client.request(method, path, content=raw, headers=headers))


def test_reload_of_a_bad_path_is_4xx(server, tmp_path):
    (tmp_path / "junk").mkdir()
    for body in ({"path": str(tmp_path / "missing")}, {"path": str(tmp_path / "junk")}, {"path": 3}, {"x": 1}):
        _check(server.client.post("/admin/reload", json=body))
    assert server.client.get("/health").json()["index_version"] == 1
