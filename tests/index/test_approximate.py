"""Approximate mode: default knobs keep recall@10 >= 0.99; knobs trade recall for work."""

from __future__ import annotations

import numpy as np
from index_oracle import oracle

from laconic.index import SearchParams, SparseIndex


def _recall(got, want):
    return float(np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(got, want)]))


def test_default_params_reach_recall(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    want, _ = oracle(index, queries, 10)
    r = index.search(queries, k=10, mode="approximate")
    assert _recall(r.ids, want) >= 0.99
    single = index.search(queries[0], k=10, mode="approximate")
    assert single.ids[0] == r.ids[0]


def test_scores_returned_are_exact_dot_products(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    dense = (queries.to_scipy() @ index.vectors().to_scipy().T).toarray()
    lookup = {d: j for j, d in enumerate(index.vectors().ids)}
    r = index.search(queries, k=10, mode="approximate", params=SearchParams(alpha=0.5, query_cut=3))
    for i in range(len(queries)):
        np.testing.assert_allclose(r.scores[i], dense[i, [lookup[d] for d in r.ids[i]]], rtol=1e-5)


def test_aggressive_knobs_lose_recall_gracefully(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    want, _ = oracle(index, queries, 10)
    safe = index.search(queries, k=10, mode="approximate", params=SearchParams(alpha=1.0, query_cut=0))
    assert _recall(safe.ids, want) == 1.0
    capped = index.search(queries, k=10, mode="approximate", params=SearchParams(max_blocks=1))
    assert 0.0 < _recall(capped.ids, want) < 1.0
