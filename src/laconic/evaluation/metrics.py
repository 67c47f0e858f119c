"""Retrieval metrics through ir-measures (pytrec_eval underneath).

We do not compute nDCG by hand: ir-measures wraps trec_eval's reference code,
which is what BEIR and MTEB report, so our numbers are comparable with
published ones (linear graded gains, ties broken as trec_eval does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from laconic.errors import InputError

__all__ = ["DEFAULT_MEASURES", "PRIMARY_MEASURE", "compute_metrics", "per_query_metrics", "run_from_results"]

PRIMARY_MEASURE = "nDCG@10"
DEFAULT_MEASURES: tuple[str, ...] = ("nDCG@10", "R@100", "RR@10")
"""nDCG@10 is BEIR's headline; Recall@100 bounds what a re-ranker could recover; MRR@10 for first hits."""


def _parse(measures: Iterable[str]) -> list:
    import ir_measures

    parsed = []
    for name in measures:
        try:
            parsed.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, SyntaxError, TypeError) as exc:
            raise InputError(f"unknown measure {name!r} ({exc})", field="measure") from None
    return parsed


def _clean_run(run: Mapping[str, Mapping[str, float]], ignore_identical_ids: bool) -> dict[str, dict[str, float]]:
    """Plain float dicts; drop ``doc_id == query_id`` hits when asked (BEIR's ArguAna rule)."""
    if ignore_identical_ids:
        return {q: {d: float(s) for d, s in hits.items() if d != q} for q, hits in run.items()}
    return {q: {d: float(s) for d, s in hits.items()} for q, hits in run.items()}


def compute_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    measures: Sequence[str] = DEFAULT_MEASURES,
    *,
    ignore_identical_ids: bool = False,
) -> dict[str, float]:
    """Mean of each measure over every judged query (a query missing from ``run`` scores 0).

    Args:
        qrels: ``{query_id: {doc_id: grade}}``; grades > 0 are relevant, used as gains.
        run: ``{query_id: {doc_id: score}}``; higher scores rank first.
        measures: ir-measures names, e.g. ``"nDCG@10"``, ``"R@100"``, ``"RR@10"``, ``"P@5"``, ``"AP"``.
        ignore_identical_ids: drop retrieved documents whose id equals the query id.

    Returns:
        ``{measure_name: value}`` in the order of ``measures``.

    Example:
        >>> compute_metrics({"q": {"a": 1}}, {"q": {"b": 2.0, "a": 1.0}}, ["RR@10"])
        {'RR@10': 0.5}
    """
    per_query = per_query_metrics(qrels, run, measures, ignore_identical_ids=ignore_identical_ids)
    judged = [q for q, rel in qrels.items() if rel]
    out = {}
    for name in measures:
        values = per_query[name]
        out[name] = sum(values.get(q, 0.0) for q in judged) / len(judged) if judged else 0.0
    return out


def per_query_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    measures: Sequence[str] = DEFAULT_MEASURES,
    *,
    ignore_identical_ids: bool = False,
) -> dict[str, dict[str, float]]:
    """``{measure_name: {query_id: value}}`` for every judged query (absent from ``run``: 0)."""
    import ir_measures

    parsed = _parse(measures)
    names = {str(m): name for m, name in zip(parsed, measures)}
    clean_qrels = {q: {d: int(g) for d, g in rel.items()} for q, rel in qrels.items() if rel}
    clean_run = {q: hits for q, hits in _clean_run(run, ignore_identical_ids).items() if q in clean_qrels and hits}
    out: dict[str, dict[str, float]] = {name: {} for name in measures}
    if not clean_run:
        return out
    for metric in ir_measures.iter_calc(parsed, clean_qrels, clean_run):
        out[names[str(metric.measure)]][metric.query_id] = float(metric.value)
    return out


def run_from_results(query_ids: Sequence[str], ids: Sequence[Sequence[str]], scores: Sequence[Sequence[float]]) -> dict[str, dict[str, float]]:
    """Turn ranked lists (one per query, best first) into the dict form the metrics take."""
    if not (len(query_ids) == len(ids) == len(scores)):
        raise ValueError(f"{len(query_ids)} queries but {len(ids)} id lists and {len(scores)} score lists")
    return {q: dict(zip(map(str, i), map(float, s))) for q, i, s in zip(query_ids, ids, scores)}
