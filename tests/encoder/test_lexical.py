"""BM25 as a sparse encoder: our index over its vectors must give bm25s's own scores (the oracle)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from laconic.encoder.lexical import BM25Encoder, BM25Settings
from laconic.errors import InputError
from laconic.evaluation import load_beir
from laconic.index import BuildConfig, SparseIndex


@pytest.fixture(scope="module")
def scifact(beir_dir):
    return load_beir(beir_dir / "scifact", "test").subset(800, max_queries=60)


def test_dot_products_equal_bm25s_scores(scifact):
    import bm25s
    import Stemmer

    docs = [{"title": t, "text": x} for t, x in zip(scifact.titles, scifact.texts)]
    encoder = BM25Encoder.fit(docs)
    index = SparseIndex.build(encoder.encode_documents(docs, ids=scifact.doc_ids), config=BuildConfig(weight_bits=32))
    found = index.search(encoder.encode_queries(scifact.queries), k=10, mode="exact")

    stemmer = Stemmer.Stemmer("english")
    oracle = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    oracle.index(bm25s.tokenize([f"{d['title']} {d['text']}".strip() for d in docs], stopwords="en", stemmer=stemmer,
                                show_progress=False), show_progress=False)
    for q, query in enumerate(scifact.queries):
        want = oracle.get_scores(bm25s.tokenize(query, stopwords="en", stemmer=stemmer, return_ids=False,
                                                show_progress=False)[0])
        got_ids, got_scores = found.ids[q], found.scores[q]
        order = np.argsort(-want, kind="stable")[:10]
        np.testing.assert_allclose(got_scores, want[order], rtol=1e-5, atol=1e-5)
        ties = want[order[-1]]  # documents tied at the 10th score may come in either order
        assert [d for d, s in zip(got_ids, got_scores) if s > ties + 1e-5] == \
               [scifact.doc_ids[i] for i in order if want[i] > ties + 1e-5]


def test_save_load_round_trip_and_unknown_terms(tmp_path):
    encoder = BM25Encoder.fit(["Vitamin D and bone loss", "statins lower cholesterol"], BM25Settings(stemmer=None))
    again = BM25Encoder.load(encoder.save(tmp_path / "bm25"))
    q = again.encode_queries(["vitamin vitamin quantum"])
    assert again.decode(q) == [("vitamin", 2.0)]  # counts; a term unseen at fit time is dropped
    np.testing.assert_array_equal(again.idf, encoder.idf)


def test_damaged_file_is_a_clear_error(tmp_path):
    folder = BM25Encoder.fit(["a cat", "a dog"], BM25Settings(stemmer=None)).save(tmp_path / "bm25")
    data = json.loads((folder / "bm25_encoder.json").read_text())
    data["df"] = data["df"][:-1]
    (folder / "bm25_encoder.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="bm25_encoder.json"):
        BM25Encoder.load(folder)
    (folder / "bm25_encoder.json").write_text("{not json")
    with pytest.raises(InputError, match="not a BM25 encoder file"):
        BM25Encoder.load(folder)


def test_bm25_through_cli_index_and_service(scifact, tmp_path):
    """laconic bm25 -> index build --model -> serve --model: the service answers with bm25s's ranking."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from laconic.cli.main import app
    from laconic.evaluation.baselines import BM25System
    from laconic.evaluation.datasets import write_beir
    from laconic.serving import ServeConfig
    from laconic.serving.launch import build_app

    folder = write_beir(scifact, tmp_path / "scifact")
    corpus = str(folder / "corpus.jsonl")
    runner = CliRunner()
    for args in (["bm25", "--corpus", corpus, "--output", str(tmp_path / "bm25")],
                 ["index", "build", "--model", str(tmp_path / "bm25"), "--corpus", corpus, "--output",
                  str(tmp_path / "idx"), "--bits", "32"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["search", "--index", str(tmp_path / "idx"), "--model", str(tmp_path / "bm25"),
                                 "--query", "x", "--int8"])
    assert result.exit_code != 0 and "BM25 encoder" in str(result.exception)

    oracle = BM25System()
    oracle.build(oracle.encode_corpus(scifact), scifact.doc_ids)
    queries = scifact.queries[:8]
    want_ids, want_scores = oracle.search(oracle.encode_queries(queries, scifact.query_ids[:8]), k=5)
    config = ServeConfig(index=str(tmp_path / "idx"), model=str(tmp_path / "bm25"), corpus=corpus, batch_window_ms=1)
    with TestClient(build_app(config)) as client:
        body = client.post("/search", json={"queries": queries, "k": 5, "snippets": True, "explain": True}).json()
    for hits, ids, scores in zip(body["results"], want_ids, want_scores):
        np.testing.assert_allclose([h["score"] for h in hits], scores, rtol=1e-5)
        assert [h["id"] for h in hits][:3] == ids[:3] or len(set(np.round(scores[:4], 4))) < 4  # ties may swap
        assert all(h["snippet"] for h in hits) and all(t["token"] and not t["token"].startswith("#") for h in hits for t in h["terms"])


def test_encode_cli_with_a_bm25_model(tmp_path):
    from typer.testing import CliRunner

    from laconic.cli.main import app
    from laconic.sparse import SparseVectors

    corpus = tmp_path / "docs.txt"
    corpus.write_text("vitamin d and bone loss\nstatins lower cholesterol\n")
    runner = CliRunner()
    assert runner.invoke(app, ["bm25", "--corpus", str(corpus), "--output", str(tmp_path / "bm25")]).exit_code == 0
    result = runner.invoke(app, ["encode", "--model", str(tmp_path / "bm25"), "--input", str(corpus),
                                 "--output", str(tmp_path / "v.npz")])
    assert result.exit_code == 0, result.output
    vectors = SparseVectors.load(tmp_path / "v.npz")
    assert len(vectors) == 2 and vectors.row_nnz().tolist() == [3, 3]  # vitamin/bone/loss; statin/lower/cholesterol
    result = runner.invoke(app, ["encode", "--model", str(tmp_path / "bm25"), "--print-profile"])
    assert result.exit_code != 0 and "no encoding profile" in str(result.exception)
