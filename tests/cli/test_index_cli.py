"""`laconic index build/info` and `laconic search` end to end (vectors, and a tiny model)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from laconic.cli.main import app
from laconic.errors import IndexFormatError, InputError
from laconic.index import SparseIndex
from laconic.sparse import SparseVectors

runner = CliRunner()


def _vectors(n, seed, prefix, vocab=64):
    m = sp.random(n, vocab, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    return SparseVectors.from_scipy(m, ids=[f"{prefix}{i}" for i in range(n)])


@pytest.fixture()
def shards(tmp_path):
    a, b = _vectors(40, 1, "a"), _vectors(30, 2, "b")
    a.save(tmp_path / "docs.shard-0-of-2.npz")
    b.save(tmp_path / "docs.shard-1-of-2.npz")
    q = _vectors(5, 3, "q")
    q.save(tmp_path / "queries.npz")
    return tmp_path, SparseVectors.concat([a, b]), q


def test_build_from_globbed_shards_info_and_search_vectors(shards):
    tmp, docs, q = shards
    out = tmp / "idx"
    r = runner.invoke(app, ["index", "build", "--vectors", str(tmp / "docs.shard-*.npz"), "--output", str(out), "--bits", "16", "--block-size", "8"])
    assert r.exit_code == 0, r.output
    assert "indexed 70 documents" in r.output
    r = runner.invoke(app, ["index", "info", str(out), "--verify", "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.output.split("checksums")[0])
    assert st["documents"] == 70 and st["config"]["weight_bits"] == 16 and st["config"]["block_size"] == 8
    run = tmp / "run.trec"
    r = runner.invoke(app, ["search", "--index", str(out), "--vectors", str(tmp / "queries.npz"), "--k", "4", "--run", str(run)])
    assert r.exit_code == 0, r.output
    lines = run.read_text().splitlines()
    assert len(lines) == 20
    qid, q0, doc, rank, score, tag = lines[0].split()
    assert (qid, q0, rank, tag) == ("q0", "Q0", "1", "laconic")
    want = SparseIndex.open(out).search(q, k=4)
    assert doc == want.ids[0][0] and float(score) == pytest.approx(float(want.scores[0][0]), rel=1e-5)


def test_reorder_flag_reaches_the_index_and_search_stays_exact(shards):
    tmp, docs, q = shards
    out = tmp / "idx-bp"
    r = runner.invoke(app, ["index", "build", "--vectors", str(tmp / "docs.shard-*.npz"), "-o", str(out), "--reorder", "bp",
                            "--block-size", "4", "--bits", "32"])
    assert r.exit_code == 0, r.output
    index = SparseIndex.open(out)
    assert index.config.reorder == "bp"
    scores = (q.to_scipy() @ docs.to_scipy().T).toarray()  # brute force over the input vectors
    got = index.search(q, k=5)
    for i in range(len(q)):
        np.testing.assert_allclose(got.scores[i], np.sort(scores[i])[::-1][:5], rtol=1e-5)
    r = runner.invoke(app, ["index", "build", "--vectors", str(tmp / "docs.shard-*.npz"), "-o", str(tmp / "x"), "--reorder", "best"])
    assert r.exit_code != 0 and "reorder" in str(r.exception or r.output)


def test_search_two_stage_flags_reach_the_index(shards):
    tmp, docs, q = shards  # ~13 terms per query: a cut of 3 takes the two-stage path
    out = tmp / "idx"
    assert runner.invoke(app, ["index", "build", "--vectors", str(tmp / "docs.shard-*.npz"), "--output", str(out)]).exit_code == 0
    run = tmp / "run.trec"
    args = ["search", "--index", str(out), "--vectors", str(tmp / "queries.npz"), "--k", "3", "--run", str(run),
            "--mode", "approximate", "--alpha", "1.0", "--query-cut", "3", "--candidates", "5"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    from laconic.index import SearchParams

    want = SparseIndex.open(out).search(
        q, k=3, mode="approximate", params=SearchParams(alpha=1.0, query_cut=3, candidates=5)
    )
    exact = SparseIndex.open(out).search(q, k=3)
    got = [line.split()[2] for line in run.read_text().splitlines()]
    assert got == [d for ids in want.ids for d in ids]
    assert want.ids != exact.ids  # the flags changed the answer, so the comparison above means something
    r = runner.invoke(app, [*args[:-2], "--candidates", "-1"])
    assert r.exit_code != 0 and "candidates" in str(r.exception or r.output)


def test_several_files_after_one_flag(shards):
    tmp, _, _ = shards
    out = tmp / "idx2"
    r = runner.invoke(
        app, ["index", "build", "--vectors", str(tmp / "docs.shard-0-of-2.npz"), str(tmp / "docs.shard-1-of-2.npz"), "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert len(SparseIndex.open(out)) == 70


def test_bad_inputs_raise_laconic_errors(shards):
    tmp, _, _ = shards
    r = runner.invoke(app, ["index", "build", "--vectors", str(tmp / "nothing-*.npz"), "-o", str(tmp / "x")])
    assert isinstance(r.exception, InputError) and "no vectors file matches" in str(r.exception)
    r = runner.invoke(app, ["index", "info", str(tmp / "missing")])
    assert isinstance(r.exception, IndexFormatError)
    r = runner.invoke(app, ["search", "--index", str(tmp), "--query", "hello"])
    assert isinstance(r.exception, InputError)
    dup = tmp / "dup.npz"
    SparseVectors.from_dicts([{1: 1.0}, {2: 1.0}], vocab_size=64, ids=["z", "z"]).save(dup)
    r = runner.invoke(app, ["index", "build", "--vectors", str(dup), "-o", str(tmp / "y")])
    assert isinstance(r.exception, InputError) and "duplicate document id 'z'" in str(r.exception)


def test_console_script_exits_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "laconic", "index", "info", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("laconic: error:")


def test_build_with_model_and_search_text(tmp_path, tiny_llama_dir):
    corpus = tmp_path / "corpus.jsonl"
    docs = ["sparse retrieval with an inverted index", "vitamin d and bone loss", "the quick brown fox"]
    corpus.write_text("\n".join(json.dumps({"_id": f"doc{i}", "title": "", "text": t}) for i, t in enumerate(docs)) + "\n")
    out = tmp_path / "idx"
    r = runner.invoke(app, ["index", "build", "--model", str(tiny_llama_dir), "--corpus", str(corpus), "-o", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["search", "--index", str(out), "--model", str(tiny_llama_dir), "--query", "inverted index", "--k", "2"])
    assert r.exit_code == 0, r.output
    # "rank  id  score  token:contribution ..." (model-loading bars share the captured output)
    hits = re.findall(r"(\d+)  (doc\d) +([\d.]+)  (\S+):([\d.]+)", r.output)
    assert [h[0] for h in hits] == ["1", "2"]
    assert float(hits[0][2]) >= float(hits[1][2]) > 0 and float(hits[0][4]) > 0
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"_id": "q1", "text": "bone loss"}) + "\n")
    run = tmp_path / "run.trec"
    r = runner.invoke(app, ["search", "-i", str(out), "-m", str(tiny_llama_dir), "--queries", str(queries), "--run", str(run), "--k", "3"])
    assert r.exit_code == 0, r.output
    assert [ln.split()[0] for ln in run.read_text().splitlines()] == ["q1"] * 3
