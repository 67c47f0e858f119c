"""The HTTP service against test doubles: contract, limits, errors, explain, stats."""

from __future__ import annotations

import numpy as np
import pytest
from doubles import CORPUS, HashEncoder, corpus_index
from fastapi.testclient import TestClient

from laconic.errors import ConfigError
from laconic.serving import ServeConfig, create_app
from laconic.serving.schemas import MAX_BODY_BYTES, MAX_K, MAX_QUERIES, MAX_TEXT_CHARS


@pytest.fixture
def encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture
def client(encoder):
    app = create_app(corpus_index(encoder), encoder, ServeConfig(batch_window_ms=1))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_text_search_matches_brute_force(client, encoder):
    r = client.post("/search", json={"queries": ["inverted index", "vitamin bone"], "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    index = corpus_index(encoder)
    expect = index.search(encoder.encode_queries(["inverted index", "vitamin bone"]), k=3)
    assert [[h["id"] for h in hits] for hits in body["results"]] == expect.ids
    for hits, scores in zip(body["results"], expect.scores):
        np.testing.assert_allclose([h["score"] for h in hits], scores, rtol=1e-6)
    assert body["results"][0][0]["id"] in ("d0", "d5")
    assert body["index_version"] == 1
    assert body["timing"]["encode_ms"] > 0 and body["timing"]["search_ms"] > 0


def test_single_query_and_vectors_agree(client, encoder):
    by_text = client.post("/search", json={"query": "sparse retrieval", "k": 5}).json()
    vec = encoder.encode_queries(["sparse retrieval"])
    ix, vals = vec.row(0)
    by_vec = client.post(
        "/search", json={"vectors": [{"indices": ix.tolist()[::-1], "values": vals.tolist()[::-1]}], "k": 5}
    ).json()
    assert by_text["results"] == by_vec["results"]
    assert by_vec["timing"]["encode_ms"] == 0


def test_explain_lists_matched_terms_summing_to_score(client):
    r = client.post("/search", json={"query": "inverted index posting", "k": 2, "explain": True})
    hits = r.json()["results"][0]
    assert hits and all(h["terms"] for h in hits)
    for hit in hits:
        total = sum(t["contribution"] for t in hit["terms"])
        assert total == pytest.approx(hit["score"], rel=1e-5)
        assert all(t["token"] == f"tok{t['term_id']}" for t in hit["terms"])
        contributions = [t["contribution"] for t in hit["terms"]]
        assert contributions == sorted(contributions, reverse=True)


def test_query_matching_nothing_gives_empty_hits(client):
    r = client.post("/search", json={"queries": ["zzzunknownword", "inverted"], "k": 3})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 2 and results[1]


def test_encode_returns_vectors_and_tokens(client, encoder):
    r = client.post("/encode", json={"texts": ["fox fox dog"], "kind": "document", "decode": True, "top_k": 1})
    assert r.status_code == 200, r.text
    vec = r.json()["vectors"][0]
    assert len(vec["indices"]) == 1 and vec["values"][0] == pytest.approx(1 + np.log(2))
    assert vec["tokens"] == [{"token": f"tok{vec['indices'][0]}", "weight": vec["values"][0]}]
    assert r.json()["vocab_size"] == encoder.vocab_size


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"query": ""}, 422, "query"),
        ({"query": "   "}, 422, "whitespace"),
        ({"query": "x" * (MAX_TEXT_CHARS + 1)}, 422, "query"),
        ({"queries": ["a"] * (MAX_QUERIES + 1)}, 422, "queries"),
        ({"queries": []}, 422, "queries"),
        ({"query": "a", "k": 0}, 422, "k"),
        ({"query": "a", "k": MAX_K + 1}, 422, "k"),
        ({"query": "a", "mode": "fuzzy"}, 422, "mode"),
        ({"query": "a", "queries": ["b"]}, 422, "exactly one"),
        ({}, 422, "exactly one"),
        ({"query": "a", "kk": 3}, 422, "kk"),
        ({"vectors": [{"indices": [1, 2], "values": [1.0]}]}, 422, "length"),
        ({"vectors": [{"indices": [1, 1], "values": [1.0, 2.0]}]}, 422, "unique"),
        ({"vectors": [{"indices": [1], "values": [-1.0]}]}, 422, "greater than or equal"),
        ({"vectors": [{"indices": [-1], "values": [1.0]}]}, 422, "greater than or equal"),
        ({"vectors": [{"indices": [5000], "values": [1.0]}]}, 422, "vocabulary"),
        ({"vectors": [{"indices": [], "values": []}]}, 422, "empty"),
    ],
)
def test_bad_search_requests_get_clear_4xx(client, body, status, words):
    r = client.post("/search", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"] or words in str(r.json().get("detail"))


def test_malformed_json_nan_and_oversized_body(client):
    r = client.post("/search", content=b'{"query": "a",', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "malformed JSON body"
    r = client.post("/search", content=b'{"vectors": [{"indices": [1], "values": [NaN]}]}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post("/search", content=b"x" * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/encode", json={"texts": ["a"], "kind": "passage"})
    assert r.status_code == 422


def test_unexpected_error_is_500_and_server_lives(encoder):
    index = corpus_index(encoder)
    app = create_app(index, encoder)

    def broken(*args, **kwargs):
        raise RuntimeError("kernel bug")

    index.search = broken
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/search", json={"query": "fox"})
        assert r.status_code == 500 and "RuntimeError" in r.json()["error"]
        assert c.get("/health").status_code == 200
        assert c.get("/stats").json()["statuses"]["500"] == 1


def test_index_value_error_is_422(encoder):
    index = corpus_index(encoder)
    app = create_app(index, encoder)

    def refuse(*args, **kwargs):
        raise ValueError("k too large for this index")

    index.search = refuse
    with TestClient(app) as c:
        r = c.post("/search", json={"query": "fox"})
        assert r.status_code == 422 and "k too large" in r.json()["error"]


def test_approximate_requests_use_the_configured_two_stage_search(encoder):
    """The service hands ServeConfig's knobs to a real SparseIndex; answers equal a direct call."""
    from laconic.index import SearchParams, SparseIndex

    texts = list(CORPUS.values())
    docs = encoder.encode_documents(texts).with_ids(list(CORPUS))
    index = SparseIndex.build(docs)
    config = ServeConfig(batch_window_ms=1, alpha=1.0, query_cut=1, candidates=1)
    queries = ["inverted index posting lists sparse", "vitamin bone density dense memory"]
    want = index.search(encoder.encode_queries(queries), k=3, mode="approximate", params=config.search_params())
    exact = index.search(encoder.encode_queries(queries), k=3)
    assert want.ids != exact.ids  # one term and one candidate per query: a different answer
    fresh = SparseIndex.build(docs)
    app = create_app(fresh, encoder, config)
    assert fresh.stats()["forward_bytes"] > 0  # built at start, not by the first request
    with TestClient(app) as c:
        body = c.post("/search", json={"queries": queries, "k": 3, "mode": "approximate"}).json()
        assert [[h["id"] for h in hits] for hits in body["results"]] == want.ids
        body = c.post("/search", json={"queries": queries, "k": 3}).json()
        assert [[h["id"] for h in hits] for hits in body["results"]] == exact.ids
    with pytest.raises(ConfigError, match="candidates"):
        ServeConfig(candidates=-1)
    assert ServeConfig(query_cut=1).search_params() == SearchParams(query_cut=1)


def test_vectors_only_server(encoder):
    app = create_app(corpus_index(encoder), None)
    with TestClient(app) as c:
        assert c.post("/search", json={"query": "fox"}).status_code == 400
        assert c.post("/encode", json={"texts": ["fox"]}).status_code == 400
        r = c.post("/search", json={"vectors": [{"indices": [1], "values": [1.0]}]})
        assert r.status_code == 200
        assert c.get("/health").json()["encoder"] is False


def test_vocab_mismatch_refused_at_start(encoder):
    with pytest.raises(ConfigError, match="vocabulary"):
        create_app(corpus_index(encoder), HashEncoder(vocab_size=100))


def test_stats_count_queries_and_split_latency(client):
    for _ in range(3):
        client.post("/search", json={"queries": ["fox", "dog"], "k": 2})
    client.post("/search", json={"query": ""})
    stats = client.get("/stats").json()
    assert stats["queries"] == 6
    assert stats["index"]["documents"] == len(CORPUS) and stats["index"]["nnz"] > 0
    assert stats["latency"]["search"]["count"] == 3 and stats["latency"]["encode"]["count"] == 3
    assert stats["latency"]["total"]["p99_ms"] >= stats["latency"]["total"]["p50_ms"] > 0
    assert stats["requests"]["POST /search"] == 4 and stats["statuses"]["422"] == 1
    assert stats["batchers"]["query"]["texts"] == 2  # "fox" and "dog" once: the repeats came from the cache
    assert (stats["query_cache"]["hits"], stats["query_cache"]["misses"]) == (4, 2)


def test_openapi_schema_documents_limits(client):
    schema = client.get("/openapi.json").json()
    assert {"/search", "/encode", "/health", "/stats", "/admin/reload"} <= set(schema["paths"])
    k = schema["components"]["schemas"]["SearchRequest"]["properties"]["k"]
    assert k["maximum"] == MAX_K and k["minimum"] == 1


def test_two_apps_do_not_share_state(encoder):
    a = create_app(corpus_index(encoder), encoder)
    b = create_app(corpus_index(encoder, suffix="-b"), encoder)
    with TestClient(a) as ca, TestClient(b) as cb:
        ca.post("/search", json={"query": "fox"})
        assert cb.get("/stats").json()["queries"] == 0
        assert cb.post("/search", json={"query": "fox"}).json()["results"][0][0]["id"].endswith("-b")


def test_repeated_query_is_served_from_the_cache(encoder):
    app = create_app(corpus_index(encoder), encoder, ServeConfig(batch_window_ms=1, query_cache=100))
    with TestClient(app) as c:
        first = c.post("/search", json={"query": "vitamin bone", "k": 3}).json()
        before = c.get("/stats").json()["query_cache"]
        second = c.post("/search", json={"query": "vitamin bone", "k": 3}).json()
        after = c.get("/stats").json()["query_cache"]
    assert second["results"] == first["results"]
    assert (after["hits"] - before["hits"], after["misses"] - before["misses"]) == (1, 0)
