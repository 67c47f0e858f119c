"""The demo path on a tiny corpus with the tiny random Llama: printing, explanations, metrics, CLI."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from laconic.demo import DemoConfig, load_demo_data, run_demo
from laconic.demo.baseline import bm25_run, ndcg_at_10
from laconic.errors import InputError



def _cli():
    """A multi-command app holding only ``demo`` (as in ``laconic.cli.main``), independent of other commands."""
    import typer

    from laconic.cli import demo

    app = typer.Typer()
    app.callback()(lambda: None)
    demo.register(app)
    return app


def test_ndcg_matches_hand_computation():
    qrels = {"q1": {"a": 1}, "q2": {"x": 2, "y": 1}}
    run = {"q1": {"b": 2.0, "a": 1.0}, "q2": {"y": 3.0, "x": 1.0}}
    # q1: the relevant doc at rank 2 -> 1/log2(3). q2 (trec_eval's linear gains): y (1) then x (2),
    # against the ideal x (2) then y (1).
    q1 = 1 / math.log2(3)
    q2 = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_10(qrels, run) == pytest.approx((q1 + q2) / 2, abs=1e-4)
    # A judged query missing from the run counts as 0, not skipped.
    assert ndcg_at_10(qrels, {"q1": run["q1"]}) == pytest.approx(q1 / 2, abs=1e-4)


def test_bm25_baseline_finds_the_rare_word(tiny_beir):
    data = load_demo_data(tiny_beir)
    run = bm25_run(data.doc_ids, data.docs, data.queries, k=10)
    assert [max(run[q], key=run[q].get) for q in ("1", "2", "3")] == ["d1", "d2", "d3"]
    assert ndcg_at_10(data.qrels, run) == pytest.approx(1.0)


def test_load_demo_data_reads_beir_layout(tiny_beir):
    data = load_demo_data(tiny_beir)
    assert data.doc_ids == [f"d{i}" for i in range(1, 11)]
    assert data.docs[1] == {"title": "Statins", "text": "statins reduce cholesterol and the risk of heart disease"}
    assert data.queries == {"1": "bone fractures", "2": "cholesterol drugs", "3": "folding of proteins"}  # CRLF, header
    assert data.qrels["2"] == {"d2": 2}


def test_load_demo_data_names_file_and_line(tmp_path):
    bad = tmp_path / "corpus.jsonl"
    bad.write_text('{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2"):
        load_demo_data(bad)
    bad.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2: field '_id': duplicate"):
        load_demo_data(bad)
    with pytest.raises(InputError, match="no such file"):
        load_demo_data(tmp_path / "missing")


def test_run_demo_explains_hits_consistently(tiny_beir, tiny_encoder, tiny_llama_dir):
    lines: list[str] = []
    report = run_demo(
        DemoConfig(dataset=tiny_beir, model=Path(tiny_llama_dir), num_queries=2, queries=["heart disease"], top_k=3),
        encoder=tiny_encoder,
        out=lines.append,
    )
    assert report.num_docs == 10
    assert [s["query"] for s in report.shown] == ["bone fractures", "cholesterol drugs", "heart disease"]
    assert report.num_eval_queries == 3
    assert 0.0 <= report.ndcg_model <= 1.0 and report.ndcg_bm25 == pytest.approx(1.0)
    text = "\n".join(lines)
    assert "nDCG@10 on tinybeir test (3 queries" in text and "matched:" in text

    # Oracle: each printed contribution is q_w * d_w of a term both vectors hold, and a hit's score
    # is the sum over all shared terms (the printed ones are the heaviest of those).
    data = load_demo_data(tiny_beir)
    docs = dict(zip(data.doc_ids, data.docs))
    for shown in report.shown:
        q = tiny_encoder.encode_queries([shown["query"]], show_progress=False).to_dicts()[0]
        for doc_id, score, pairs in shown["hits"]:
            d = tiny_encoder.encode_documents([docs[doc_id]], show_progress=False).to_dicts()[0]
            products = sorted((q[t] * d[t] for t in q.keys() & d.keys()), reverse=True)
            assert score == pytest.approx(sum(products), rel=1e-2, abs=1e-3)
            assert [c for _, c in pairs] == pytest.approx(products[: len(pairs)], rel=1e-2, abs=1e-3)
            assert all(isinstance(t, str) and t for t, _ in pairs)


def test_run_demo_keeps_judged_docs_when_truncating(tiny_beir, tiny_encoder, tiny_llama_dir):
    report = run_demo(
        DemoConfig(dataset=tiny_beir, model=Path(tiny_llama_dir), num_queries=3, max_docs=1, evaluate=False),
        encoder=tiny_encoder,
        out=lambda _: None,
    )
    assert report.num_docs == 3  # d1 (first) + d2, d3 (judged for the shown queries)
    assert report.ndcg_model is None
    # When scoring, the judged documents of every query are kept, not only those of the shown ones.
    scored = run_demo(
        DemoConfig(dataset=tiny_beir, model=Path(tiny_llama_dir), num_queries=1, max_docs=1, evaluate=True),
        encoder=tiny_encoder,
        out=lambda _: None,
    )
    assert scored.num_docs == 3 and scored.ndcg_bm25 == pytest.approx(1.0)


def test_cli_demo_end_to_end(tiny_beir, tiny_llama_dir):
    app = _cli()
    result = CliRunner().invoke(
        app, ["demo", "--dataset", str(tiny_beir), "--model", str(tiny_llama_dir), "-n", "1", "-q", "protein", "-k", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "Query 1 [tinybeir test id 1]: bone fractures" in result.output
    assert "Query 2: protein" in result.output
    assert "BM25" in result.output


def test_cli_demo_corpus_file_without_queries(tiny_beir, tiny_llama_dir):
    app = _cli()
    result = CliRunner().invoke(
        app, ["demo", "--dataset", str(tiny_beir / "corpus.jsonl"), "--model", str(tiny_llama_dir), "-q", "statins"]
    )
    assert result.exit_code == 0, result.output
    assert "Query 1: statins" in result.output and "nDCG@10 skipped" in result.output


def test_cli_demo_without_data_prints_instructions(monkeypatch):
    import laconic.demo

    app = _cli()
    monkeypatch.setattr(laconic.demo, "default_dataset", lambda: None)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0
    assert "--dataset DIR" in result.output


def test_cli_demo_bad_dataset_exits_2(tmp_path, monkeypatch, capsys):
    from laconic.cli.main import main

    monkeypatch.setattr(sys, "argv", ["laconic", "demo", "--dataset", str(tmp_path / "nope"), "--model", str(tmp_path)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("laconic: error:") and "nope" in err


def test_second_run_reuses_cached_index(tiny_beir, tiny_encoder, tiny_llama_dir, tmp_path):
    config = DemoConfig(dataset=tiny_beir, model=Path(tiny_llama_dir), num_queries=3, evaluate=False)
    first: list[str] = []
    second: list[str] = []
    a = run_demo(config, encoder=tiny_encoder, out=first.append)
    b = run_demo(config, encoder=tiny_encoder, out=second.append)
    assert not any("from cache" in line for line in first)
    assert any("from cache" in line for line in second)
    assert [s["hits"] for s in a.shown] == [s["hits"] for s in b.shown]
    assert list((tmp_path / "cache" / "laconic" / "demo").iterdir())
    # Another document subset is another index, not a stale hit.
    third: list[str] = []
    run_demo(DemoConfig(dataset=tiny_beir, model=Path(tiny_llama_dir), max_docs=2, evaluate=False),
             encoder=tiny_encoder, out=third.append)
    assert not any("from cache" in line for line in third)
