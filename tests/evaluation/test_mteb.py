"""MTEB runs a local SciFact subset through our search and agrees with our harness."""

from __future__ import annotations

import pytest
from eval_standins import BruteIndex

from laconic.evaluation import LaconicSystem, run_system
from laconic.evaluation.mteb import LaconicMtebModel, beir_task

mteb = pytest.importorskip("mteb")  # an installed dependency (extra "eval"); absent only in a minimal install


def _mteb_scores(model, dataset) -> dict:
    result = mteb.evaluate(model, beir_task(dataset), cache=None, show_progress_bar=False, encode_kwargs={"batch_size": 16})
    assert not result.exceptions, result.exceptions
    (task_result,) = result.task_results
    return task_result.scores[dataset.split][0]


def test_mteb_uses_our_search_and_matches_the_harness(scifact_small, hash_encoder):
    model = LaconicMtebModel(hash_encoder, index_factory=BruteIndex.build, name="hash")
    assert isinstance(model, mteb.models.SearchProtocol)
    scores = _mteb_scores(model, scifact_small)
    ours = run_system(LaconicSystem(hash_encoder, index_factory=BruteIndex.build), scifact_small, k=1000, latency=False, quiet=True)
    assert scores["ndcg_at_10"] == pytest.approx(ours.metrics["nDCG@10"], abs=1e-5)
    assert scores["recall_at_100"] == pytest.approx(ours.metrics["R@100"], abs=1e-5)
    assert scores["mrr_at_10"] == pytest.approx(ours.metrics["RR@10"], abs=1e-5)
    assert scores["main_score"] == scores["ndcg_at_10"] > 0.4


def test_mteb_with_tiny_llama_and_real_index(tiny_llama_dir, scifact_small):
    from laconic.encoder import SparseEncoder

    small = scifact_small.subset(60, max_queries=12)
    encoder = SparseEncoder.from_pretrained(str(tiny_llama_dir), query_max_length=32, document_max_length=64)
    scores = _mteb_scores(LaconicMtebModel(encoder), small)
    ours = run_system(LaconicSystem(encoder, batch_size=16), small, k=1000, latency=False, quiet=True)
    assert scores["ndcg_at_10"] == pytest.approx(ours.metrics["nDCG@10"], abs=1e-5)
    assert scores["recall_at_100"] == pytest.approx(ours.metrics["R@100"], abs=1e-5)


def test_rerank_scores_only_the_given_candidates(scifact_small, hash_encoder):
    from datasets import Dataset

    model = LaconicMtebModel(hash_encoder, index_factory=BruteIndex.build)
    corpus = Dataset.from_dict({"id": scifact_small.doc_ids, "title": scifact_small.titles, "text": scifact_small.texts})
    model.index(corpus, encode_kwargs={})
    queries = Dataset.from_dict({"id": scifact_small.query_ids[:2], "text": scifact_small.queries[:2]})
    cands = {q: scifact_small.doc_ids[:5] for q in scifact_small.query_ids[:2]}
    out = model.search(queries, top_k=3, encode_kwargs={}, top_ranked=cands)
    full = model.search(queries, top_k=200, encode_kwargs={})
    for q in cands:
        assert len(out[q]) == 3 and set(out[q]) <= set(cands[q])
        expected = sorted(cands[q], key=lambda d: -full[q].get(d, 0.0))[:3]
        assert sorted(out[q].values(), reverse=True) == pytest.approx([full[q].get(d, 0.0) for d in expected], abs=1e-5)
