"""The service with the real ``SparseEncoder`` (tiny random Llama) and ``SparseIndex``."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from laconic.encoder import SparseEncoder
from laconic.index import SparseIndex
from laconic.serving import ServeConfig, create_app

DOCS = [
    "sparse retrieval with large language models uses an inverted index",
    "vitamin d deficiency is associated with bone loss and fractures",
    "statins reduce cholesterol and the risk of heart disease",
    "the index stores posting lists of document ids and weights",
    "neural networks learn representations of text for search",
]


@pytest.fixture(scope="module")
def stack(tiny_llama_dir, tmp_path_factory):
    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=32)
    path = tmp_path_factory.mktemp("served") / "index"
    SparseIndex.build(encoder.encode_documents(DOCS), [f"doc{i}" for i in range(len(DOCS))]).save(path)
    index = SparseIndex.open(path)
    app = create_app(index, encoder, ServeConfig(batch_window_ms=1, encode_threads=1), index_path=str(path))
    with TestClient(app) as client:
        yield encoder, index, client


def test_text_search_equals_library_calls(stack):
    encoder, index, client = stack
    queries = ["vitamin bone", "inverted index search"]
    r = client.post("/search", json={"queries": queries, "k": 3, "explain": True, "explain_terms": 64})
    assert r.status_code == 200, r.text
    expect = index.search(encoder.encode_queries(queries), k=3)
    body = r.json()
    assert [[h["id"] for h in hits] for hits in body["results"]] == expect.ids
    for hits, scores in zip(body["results"], expect.scores):
        np.testing.assert_allclose([h["score"] for h in hits], scores, rtol=1e-6)
        for hit in hits:  # explain: token strings as the tokenizer spells them; contributions sum to the score
            assert hit["terms"]
            assert sum(t["contribution"] for t in hit["terms"]) == pytest.approx(hit["score"], rel=1e-3, abs=1e-4)
            ids = [t["term_id"] for t in hit["terms"]]
            assert [t["token"] for t in hit["terms"]] == encoder.tokenizer.convert_ids_to_tokens(ids)


def test_encode_matches_encoder_and_decode(stack):
    encoder, _, client = stack
    r = client.post("/encode", json={"texts": ["statins and heart disease"], "kind": "document", "decode": True})
    assert r.status_code == 200, r.text
    vec = r.json()["vectors"][0]
    expect = encoder.encode_documents(["statins and heart disease"])
    ix, vals = expect.row(0)
    assert vec["indices"] == ix.tolist()
    np.testing.assert_allclose(vec["values"], vals, rtol=1e-6)
    decoded = encoder.decode(expect)
    assert [t["token"] for t in vec["tokens"]] == [tok for tok, _ in decoded]
    np.testing.assert_allclose([t["weight"] for t in vec["tokens"]], [w for _, w in decoded], rtol=1e-6)


def test_reload_from_disk_and_stats(stack):
    _, index, client = stack
    r = client.post("/admin/reload")
    assert r.status_code == 200 and r.json()["documents"] == len(DOCS)
    stats = client.get("/stats").json()
    assert stats["index"]["documents"] == len(DOCS) and stats["index"]["segments"] >= 1
    assert stats["index"]["version"] == r.json()["index_version"]
