"""``laconic encode`` end to end on the tiny Llama: outputs, shards, and one-line errors for bad input."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from laconic.sparse import SparseVectors


def run_cli(monkeypatch, *args):
    from laconic.cli.main import main

    monkeypatch.setattr(sys, "argv", ["laconic", "encode", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    return done.value.code


@pytest.fixture
def corpus(tmp_path):
    rows = [{"_id": f"d{i}", "title": f"title {i}", "text": "vitamin d and bone loss " * (i % 4 + 1)} for i in range(8)]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_encode_corpus(monkeypatch, tmp_path, tiny_llama_dir, corpus):
    out = tmp_path / "out" / "docs.npz"
    code = run_cli(monkeypatch, "--model", tiny_llama_dir, "--input", corpus, "--kind", "documents",
                   "--output", out, "--max-terms", "16", "--batch-size", "3", "--threads", "1")
    assert code in (0, None)
    vec = SparseVectors.load(out)
    assert vec.ids == [f"d{i}" for i in range(8)] and vec.row_nnz().max() == 16

    from laconic.encoder import SparseEncoder

    enc = SparseEncoder.from_pretrained(tiny_llama_dir, max_terms=16, device="cpu")
    docs = [json.loads(line) for line in corpus.read_text().splitlines()]
    np.testing.assert_allclose(vec.to_dense(), enc.encode_documents(docs).to_dense(), atol=1e-6)


def test_queries_as_text(monkeypatch, tmp_path, tiny_llama_dir):
    src = tmp_path / "queries.txt"
    src.write_text("what is vitamin d\n\nwho needs statins\n")
    out = tmp_path / "q.npz"
    assert run_cli(monkeypatch, "-m", tiny_llama_dir, "-i", src, "-k", "queries", "-o", out, "--max-length", "4") in (0, None)
    vec = SparseVectors.load(out)
    assert vec.ids == ["1", "3"]


def test_three_shards_concatenate_to_one_run(monkeypatch, tmp_path, tiny_llama_dir, corpus):
    whole = tmp_path / "whole.npz"
    run_cli(monkeypatch, "-m", tiny_llama_dir, "-i", corpus, "-o", whole, "--max-terms", "32")
    for i in range(3):
        run_cli(monkeypatch, "-m", tiny_llama_dir, "-i", corpus, "-o", tmp_path / "part.npz",
                "--max-terms", "32", "--shard", f"{i}/3")
    shards = sorted(tmp_path.glob("part.shard-*-of-3.npz"))
    assert [p.name for p in shards] == [f"part.shard-{i}-of-3.npz" for i in range(3)]
    parts = [SparseVectors.load(p) for p in shards]
    assert [len(p) for p in parts] == [2, 3, 3]
    joined, single = SparseVectors.concat(parts), SparseVectors.load(whole)
    assert joined.ids == single.ids
    np.testing.assert_array_equal(joined.indptr, single.indptr)
    np.testing.assert_array_equal(joined.indices, single.indices)
    np.testing.assert_allclose(joined.values, single.values, atol=1e-6)


@pytest.mark.parametrize(
    "content, needle",
    [
        (b'{"_id": "a", "text": "ok"}\n{"_id": "b", "text": \n', "corpus.jsonl:2: invalid JSON"),
        (b'{"_id": "a", "text": "ok"}\n{"_id": "b"}\n', "corpus.jsonl:2: field 'text': missing"),
        (b'{"text": "no id"}\n', "corpus.jsonl:1: field '_id': missing"),
        (b"", "corpus.jsonl: empty input"),
        (b'{"_id": "a", "text": "\xff"}\n', "corpus.jsonl:1: not valid UTF-8"),
    ],
)
def test_malformed_input_exits_2(monkeypatch, capsys, tmp_path, tiny_llama_dir, content, needle):
    src = tmp_path / "corpus.jsonl"
    src.write_bytes(content)
    out = tmp_path / "out.npz"
    assert run_cli(monkeypatch, "-m", tiny_llama_dir, "-i", src, "-o", out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("laconic: error: ") and needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out.npz*"))


@pytest.mark.parametrize("shard", ["3/3", "x/2", "1"])
def test_bad_shard_spec(monkeypatch, capsys, tmp_path, tiny_llama_dir, corpus, shard):
    assert run_cli(monkeypatch, "-m", tiny_llama_dir, "-i", corpus, "-o", tmp_path / "o.npz", "--shard", shard) == 2
    assert "--shard" in capsys.readouterr().err


def test_missing_model_dir(monkeypatch, capsys, tmp_path, corpus):
    assert run_cli(monkeypatch, "-m", tmp_path / "no-model", "-i", corpus, "-o", tmp_path / "o.npz") == 2
    assert "not a model directory" in capsys.readouterr().err
