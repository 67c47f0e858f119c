"""The runner end to end: stand-ins, then the real encoder (tiny Llama) and index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from laconic.evaluation import LaconicSystem, compute_metrics, evaluate, load_report, read_trec_run, run_system

from eval_standins import BruteIndex


def test_run_system_scores_writes_and_times(scifact_small, hash_encoder, tmp_path):
    system = LaconicSystem(hash_encoder, index_factory=BruteIndex.build)
    out = tmp_path / "out"
    report = run_system(system, scifact_small, k=100, output_dir=out, quiet=True)

    # the metrics are those of the written run, recomputed independently
    run = read_trec_run(out / "run.trec")
    assert set(run) == set(scifact_small.query_ids)
    assert all(len(hits) == 100 for hits in run.values())
    again = compute_metrics(scifact_small.qrels, run)
    assert report.metrics == pytest.approx(again, abs=1e-5)
    # a lexical bag of words finds SciFact positives among 200 docs far above chance (~0.03)
    assert report.metrics["nDCG@10"] > 0.4

    saved = json.loads((out / "report.json").read_text())
    assert saved["metrics"] == pytest.approx(report.metrics)
    assert saved["n_docs"] == 200 and saved["n_queries"] == len(scifact_small.query_ids)
    assert saved["model"] == "hash-encoder" and saved["system"] == "laconic"
    for key in ("encode_corpus_s", "build_index_s", "encode_queries_s", "search_s", "latency_ms_median", "latency_ms_p99"):
        assert saved["timings"][key] > 0
    assert load_report(out).metrics == report.metrics

    # nnz and memory come from the vectors and the index
    docs = hash_encoder.encode_documents(scifact_small.documents)
    assert report.nnz["mean_doc"] == pytest.approx(docs.nnz / len(docs))
    mem = report.memory
    assert mem["index_bytes"] == docs.indptr.nbytes + docs.indices.nbytes + docs.values.nbytes
    assert mem["dense_float32_bytes"] == 200 * 64 * 4
    assert mem["saving_vs_dense"] == pytest.approx(1 - mem["index_bytes"] / mem["dense_float32_bytes"], abs=1e-6)
    assert mem["index_disk_bytes"] > 0


def test_k_is_capped_at_corpus_size_and_no_files_without_output_dir(scifact_small, hash_encoder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small = scifact_small.subset(20)
    report = run_system(LaconicSystem(hash_encoder, index_factory=BruteIndex.build), small, k=1000, latency=False, quiet=True)
    assert report.k == 20 and report.report_path is None
    assert "latency_ms_median" not in report.timings
    assert list(tmp_path.iterdir()) == []
    assert all(len(h) == 20 for h in report.run.values())


def test_evaluate_tiny_llama_matches_brute_force(tiny_llama_dir, scifact_small, tmp_path):
    """The real encoder + the real index: metrics equal a brute-force search over the same vectors."""
    from laconic.encoder import SparseEncoder

    small = scifact_small.subset(60, max_queries=12)
    encoder = SparseEncoder.from_pretrained(str(tiny_llama_dir), query_max_length=32, document_max_length=64)
    report = evaluate(encoder, small, k=50, batch_size=16, output_dir=tmp_path / "e", quiet=True)

    docs = encoder.encode_documents(small.documents, ids=small.doc_ids)
    queries = encoder.encode_queries(small.queries, ids=small.query_ids)
    brute = BruteIndex.build(docs, small.doc_ids).search(queries, k=50)
    for qid, ids, scores in zip(small.query_ids, brute.ids, brute.scores):
        got = np.array(sorted(report.run[qid].values(), reverse=True), dtype=np.float32)
        np.testing.assert_allclose(got, scores, rtol=2e-3, atol=1e-3)  # scores, not ids (ties may swap); the index quantises weights
    assert report.nnz["mean_doc"] == pytest.approx(docs.nnz / len(docs))
    assert report.memory["dense_hidden_size"] == 32
    assert (tmp_path / "e" / "run.trec").is_file() and (tmp_path / "e" / "report.json").is_file()

    # the same index, saved and passed back by path: same run, corpus not encoded again
    from laconic.index import SparseIndex

    SparseIndex.build(docs, ids=small.doc_ids).save(tmp_path / "saved")
    encoder.encode_documents = None  # any corpus encoding would fail
    again = evaluate(encoder, small, k=50, batch_size=16, index=tmp_path / "saved", latency=False, quiet=True)
    assert again.run == report.run and again.config["index_path"] == str(tmp_path / "saved")
    assert again.nnz["mean_doc"] == pytest.approx(report.nnz["mean_doc"])
