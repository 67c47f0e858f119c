"""JSON-lines vectors (Anserini JsonVectorCollection, Seismic input): round trips, and Seismic reads ours."""

from __future__ import annotations

import json

import numpy as np
import pytest

from laconic.errors import InputError
from laconic.index import BuildConfig, SparseIndex
from laconic.integrations.jsonvectors import read_jsonl, write_jsonl
from laconic.sparse import SparseVectors


def _vectors(n=60, vocab=300, seed=0) -> SparseVectors:
    rng = np.random.default_rng(seed)
    rows = [{int(t): float(rng.lognormal(-0.5, 0.8)) for t in rng.choice(vocab, rng.integers(1, 25), replace=False)}
            for _ in range(n)]
    return SparseVectors.from_dicts(rows, vocab_size=vocab, ids=[f"d{i}" for i in range(n)])


def test_round_trip_by_id_and_by_token_string(tmp_path):
    vectors = _vectors()
    back = read_jsonl(write_jsonl(vectors, tmp_path / "a.jsonl"), vocab_size=300)
    assert back.ids == vectors.ids
    np.testing.assert_array_equal(back.to_dense(), vectors.to_dense())

    terms = [f"tok{i}" for i in range(300)]
    path = write_jsonl(vectors, tmp_path / "b.jsonl", terms=terms, contents=[f"text {i}" for i in range(60)])
    first = json.loads(path.read_text().splitlines()[0])
    assert first["id"] == "d0" and first["contents"] == "text 0" and all(t.startswith("tok") for t in first["vector"])
    np.testing.assert_array_equal(read_jsonl(path, vocab_size=300, terms=terms).to_dense(), vectors.to_dense())


def test_integer_impacts_round_to_half_a_step(tmp_path):
    vectors = _vectors(seed=1)
    path = write_jsonl(vectors, tmp_path / "impacts.jsonl", scale=100)
    assert all(isinstance(w, int) for line in path.read_text().splitlines() for w in json.loads(line)["vector"].values())
    back = read_jsonl(path, vocab_size=300, scale=100).to_dense()
    dense = vectors.to_dense()
    kept = back > 0
    assert np.abs(back - dense)[kept].max() <= 0.005 + 1e-7
    assert (dense[~kept] < 0.005 + 1e-7).all()  # only impacts that round to 0 are dropped


def test_bad_lines_name_file_line_and_term(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "vector": {"1": 0.5}}\n{"id": "b", "vector": {"zebra": 1.0}}\n')
    with pytest.raises(InputError, match=r"bad.jsonl.*2.*zebra"):
        read_jsonl(path, vocab_size=10)
    path.write_text('{"id": "a", "vector": {"1": -2}}\n')
    with pytest.raises(InputError, match="finite number"):
        read_jsonl(path, vocab_size=10)
    path.write_text('{"id": "a"\n')
    with pytest.raises(InputError, match="invalid JSON"):
        read_jsonl(path, vocab_size=10)


def test_seismic_builds_from_our_file_and_agrees_with_exact_search(tmp_path):
    seismic = pytest.importorskip("seismic", reason="pyseismic-lsr is a benchmark peer")
    vectors = _vectors(n=400, vocab=200, seed=2)
    path = write_jsonl(vectors, tmp_path / "docs.jsonl")
    index = seismic.SeismicIndex.build(str(path), n_postings=400, centroid_fraction=0.5, summary_energy=1.0,
                                       max_fraction=1.5, doc_cut=200, num_threads=1)
    ours = SparseIndex.build(vectors, config=BuildConfig(weight_bits=32))
    queries = _vectors(n=20, vocab=200, seed=3)
    exact = ours.search(queries, k=5, mode="exact")
    string = seismic.get_seismic_string()
    for q in range(len(queries)):
        idx, vals = queries.row(q)
        found = index.search(str(q), np.array([str(t) for t in idx], dtype=string), vals.astype(np.float32),
                             k=5, query_cut=len(idx), heap_factor=1.0)
        assert found[0][2] == exact.ids[q][0]
        np.testing.assert_allclose(found[0][1], exact.scores[q][0], rtol=2e-3)  # Seismic keeps values in fp16


def test_convert_cli_both_ways_with_token_strings(tiny_llama_dir, tmp_path):
    from typer.testing import CliRunner

    from laconic.cli.main import app

    vectors = _vectors(n=10, vocab=300, seed=4)  # the tiny Llama's vocabulary has 384 terms
    vectors = SparseVectors(vectors.indptr, vectors.indices, vectors.values, 384, ids=vectors.ids)
    vectors.save(tmp_path / "v.npz")
    runner = CliRunner()
    out = runner.invoke(app, ["convert", "--input", str(tmp_path / "v.npz"), "--output", str(tmp_path / "v.jsonl"),
                              "--model", str(tiny_llama_dir)])
    assert out.exit_code == 0, out.output
    first = json.loads((tmp_path / "v.jsonl").read_text().splitlines()[0])
    assert not all(t.isdigit() for t in first["vector"])  # token strings, not ids
    out = runner.invoke(app, ["convert", "--input", str(tmp_path / "v.jsonl"), "--output", str(tmp_path / "w.npz"),
                              "--model", str(tiny_llama_dir)])
    assert out.exit_code == 0, out.output
    np.testing.assert_array_equal(SparseVectors.load(tmp_path / "w.npz").to_dense(), vectors.to_dense())
    out = runner.invoke(app, ["convert", "--input", str(tmp_path / "v.jsonl"), "--output", str(tmp_path / "x.npz")])
    assert out.exit_code != 0 and "--vocab-size" in str(out.exception)
