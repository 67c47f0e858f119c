"""Metrics against hand computations on tiny runs."""

from __future__ import annotations

import math

import pytest

from laconic.errors import InputError
from laconic.evaluation import compute_metrics, per_query_metrics

QRELS = {"q1": {"d1": 2, "d2": 1, "d3": 0}, "q2": {"d4": 1}}
RUN = {"q1": {"d3": 3.0, "d1": 2.0, "d9": 1.0, "d2": 0.5}, "q2": {"d5": 2.0, "d4": 1.0}}


def _dcg(gains):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def test_ndcg_recall_mrr_match_hand_computation():
    m = compute_metrics(QRELS, RUN, ["nDCG@10", "nDCG@2", "R@2", "R@100", "RR@10"])
    ideal_q1 = _dcg([2, 1])
    ndcg_q1 = _dcg([0, 2, 0, 1]) / ideal_q1  # graded gains used linearly (trec_eval)
    ndcg_q2 = _dcg([0, 1]) / _dcg([1])
    assert m["nDCG@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2, abs=1e-6)
    assert m["nDCG@2"] == pytest.approx((_dcg([0, 2]) / ideal_q1 + ndcg_q2) / 2, abs=1e-6)
    assert m["R@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["R@100"] == pytest.approx(1.0)
    assert m["RR@10"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert list(m) == ["nDCG@10", "nDCG@2", "R@2", "R@100", "RR@10"]


def test_query_missing_from_run_counts_as_zero():
    m = compute_metrics(QRELS, {"q1": RUN["q1"]}, ["RR@10"])
    assert m["RR@10"] == pytest.approx(0.5 / 2)
    per = per_query_metrics(QRELS, {"q1": RUN["q1"]}, ["RR@10"])
    assert per["RR@10"] == {"q1": pytest.approx(0.5), "q2": 0.0}


def test_cutoff_excludes_hits_below_rank_k():
    run = {"q2": {f"x{i}": 100.0 - i for i in range(10)} | {"d4": 1.0}}
    m = compute_metrics({"q2": {"d4": 1}}, run, ["RR@10", "R@10", "R@100"])
    assert m["RR@10"] == 0.0 and m["R@10"] == 0.0 and m["R@100"] == 1.0


def test_ignore_identical_ids_drops_self_hits():
    qrels = {"a": {"b": 1}}
    run = {"a": {"a": 9.0, "b": 5.0}}
    assert compute_metrics(qrels, run, ["RR@10"])["RR@10"] == pytest.approx(0.5)
    assert compute_metrics(qrels, run, ["RR@10"], ignore_identical_ids=True)["RR@10"] == pytest.approx(1.0)


def test_unknown_measure_is_an_input_error():
    with pytest.raises(InputError, match="unknown measure"):
        compute_metrics(QRELS, RUN, ["nDCG@ten"])
