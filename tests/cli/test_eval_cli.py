"""`laconic eval` end to end, in process (main() maps LaconicError to exit 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from laconic.cli.main import main
from laconic.evaluation import load_beir, write_beir


@pytest.fixture(scope="module")
def small_dir(beir_dir, tmp_path_factory) -> Path:
    ds = load_beir(beir_dir / "scifact", "test").subset(60, max_queries=12)
    return write_beir(ds, tmp_path_factory.mktemp("cli") / "scifact")


def _run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["laconic", "eval", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return exc.value.code or 0, out.out, out.err


def test_bm25_default_output_dir(monkeypatch, capsys, tmp_path, small_dir):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(monkeypatch, capsys, "--baseline", "bm25", "--dataset", str(small_dir), "--k", "50", "--quiet")
    assert code == 0, out
    folder = tmp_path / "runs" / "eval" / "scifact-bm25"
    report = json.loads((folder / "report.json").read_text())
    assert report["system"] == "bm25" and report["k"] == 50 and report["n_docs"] == 60
    assert f"nDCG@10={report['metrics']['nDCG@10']:.4f}" in out
    assert len((folder / "run.trec").read_text().splitlines()) <= report["n_queries"] * 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "bm25", "--dataset", "/nonexistent/beir"], "dataset folder not found"),
        (["--baseline", "bm25", "--model", "m", "--dataset", "."], "exactly one of --model or --baseline"),
        (["--baseline", "splade", "--dataset", "."], "unknown baseline 'splade'"),
        (["--baseline", "bm25", "--split", "dev", "--dataset", "{small}"], "unknown split 'dev'"),
        (["--model", "/no/such/model", "--dataset", "{small}"], "/no/such/model"),
        (["--model", "nomodel", "--dataset", "{small}"], "model folder not found"),
        (["--model", "{small}", "--dataset", "{small}", "--mode", "approximate", "--alpha", "2"], "alpha must be in (0, 1]"),
        (["--model", "{small}", "--dataset", "{small}", "--mode", "fast"], "unknown mode 'fast'"),
    ],
)
def test_bad_input_exits_2_with_one_line(monkeypatch, capsys, small_dir, args, message):
    args = [a.replace("{small}", str(small_dir)) for a in args]
    code, _, err = _run(monkeypatch, capsys, *args)
    assert code == 2
    assert err.startswith("laconic: error: ") and message in err and err.count("\n") == 1


def test_model_eval_with_tiny_llama(monkeypatch, capsys, tmp_path, small_dir, tiny_llama_dir):
    out_dir = tmp_path / "out"
    code, out, _ = _run(
        monkeypatch, capsys,
        "--model", str(tiny_llama_dir), "--dataset", str(small_dir), "--k", "20", "--max-length", "64",
        "--output-dir", str(out_dir), "--threads", "1", "--mode", "approximate", "--alpha", "1.0", "--quiet", "--keep-index",
    )
    assert code == 0, out
    report = json.loads((out_dir / "report.json").read_text())
    assert report["system"] == "laconic" and report["mode"] == "approximate" and report["config"]["threads"] == 1
    assert "alpha=1.0" in report["config"]["search_params"]
    assert 0.0 <= report["metrics"]["nDCG@10"] <= 1.0 and report["nnz"]["mean_doc"] > 0
    assert report["memory"]["index_disk_bytes"] > 0 and (out_dir / "index").is_dir()
    assert len((out_dir / "run.trec").read_text().splitlines()) == report["n_queries"] * 20


def test_saved_index_is_reused_without_encoding_the_corpus(monkeypatch, capsys, tmp_path, small_dir, tiny_llama_dir):
    """--keep-index then --index: the same run (exact search is deterministic), and no corpus encoding."""
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["--model", str(tiny_llama_dir), "--dataset", str(small_dir), "--k", "20", "--max-length", "64",
              "--threads", "1", "--no-latency", "--quiet"]
    assert _run(monkeypatch, capsys, *common, "--output-dir", str(first), "--keep-index")[0] == 0

    from laconic.encoder import SparseEncoder

    def no_corpus_encoding(self, *args, **kwargs):
        raise AssertionError("the corpus was encoded although --index was given")

    monkeypatch.setattr(SparseEncoder, "encode_documents", no_corpus_encoding)
    code, out, _ = _run(monkeypatch, capsys, *common, "--output-dir", str(second), "--index", str(first / "index"))
    assert code == 0, out
    a, b = (json.loads((d / "report.json").read_text()) for d in (first, second))
    assert b["config"]["index_path"] == str(first / "index")
    assert b["metrics"] == a["metrics"] and b["nnz"] == a["nnz"]
    assert b["memory"]["index_bytes"] == a["memory"]["index_bytes"]
    assert (second / "run.trec").read_text() == (first / "run.trec").read_text()


def test_index_of_another_corpus_is_refused(monkeypatch, capsys, tmp_path, beir_dir, small_dir, tiny_llama_dir):
    """An index whose ids differ from the dataset's would give wrong scores silently: exit 2, naming the index."""
    other = write_beir(load_beir(beir_dir / "scifact", "test").subset(40, max_queries=8), tmp_path / "other" / "scifact")
    common = ["--model", str(tiny_llama_dir), "--k", "10", "--max-length", "64", "--threads", "1", "--no-latency", "--quiet"]
    assert _run(monkeypatch, capsys, *common, "--dataset", str(other), "--output-dir", str(tmp_path / "o"), "--keep-index")[0] == 0
    code, _, err = _run(monkeypatch, capsys, *common, "--dataset", str(small_dir), "--index", str(tmp_path / "o" / "index"))
    assert code == 2 and err.count("\n") == 1
    assert str(tmp_path / "o" / "index") in err and "the index holds 40 documents, the dataset 60" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "bm25", "--index", "x"], "--index needs --model"),
        (["--model", "{model}", "--index", "/no/such/index"], "index folder not found"),
    ],
)
def test_bad_index_option(monkeypatch, capsys, small_dir, tiny_llama_dir, args, message):
    args = [a.replace("{model}", str(tiny_llama_dir)) for a in args]
    code, _, err = _run(monkeypatch, capsys, *args, "--dataset", str(small_dir))
    assert code == 2 and message in err


def test_plot_compares_per_query_with_bm25(monkeypatch, capsys, tmp_path, small_dir, tiny_llama_dir):
    """--plot: BM25 on the same queries, per-query nDCG@10 counts checked with pytrec_eval on both run files."""
    import pytrec_eval

    from laconic.evaluation import read_trec_run

    out_dir = tmp_path / "out"
    code, out, err = _run(monkeypatch, capsys, "--model", str(tiny_llama_dir), "--dataset", str(small_dir), "--k", "20",
                          "--max-length", "32", "--no-latency", "--quiet", "--plot", "--output-dir", str(out_dir))
    assert code == 0, err
    figure = out_dir / "per_query.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 5_000
    qrels = load_beir(small_dir, "test").qrels
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"})
    ours = evaluator.evaluate(read_trec_run(out_dir / "run.trec"))
    bm25 = evaluator.evaluate(read_trec_run(out_dir / "bm25" / "run.trec"))
    diffs = [ours.get(q, {}).get("ndcg_cut_10", 0.0) - bm25.get(q, {}).get("ndcg_cut_10", 0.0) for q in qrels]
    wins, losses = sum(d > 1e-9 for d in diffs), sum(d < -1e-9 for d in diffs)
    assert f"{wins} wins, {losses} losses, {len(diffs) - wins - losses} ties" in out
    code, _, err = _run(monkeypatch, capsys, "--baseline", "bm25", "--dataset", str(small_dir), "--plot")
    assert code == 2 and "--plot compares against BM25" in err
