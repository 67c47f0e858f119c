"""BM25 and nDCG@10 for the demo's comparison line.

bm25s (Lucene-style BM25, English stemming and stop words) and ir_measures
(the trec_eval definitions) do this well already, so the demo only adapts
their inputs; nothing here is hand-written retrieval.
"""

from __future__ import annotations

import numpy as np


def bm25_run(doc_ids: list[str], docs: list[dict], queries: dict[str, str], k: int = 100) -> dict[str, dict[str, float]]:
    """Top-``k`` BM25 run over title + text: {query_id: {doc_id: score}}."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    corpus_text = [f"{d['title']} {d['text']}".strip() for d in docs]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus_text, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    qids = list(queries)
    tokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer, show_progress=False)
    k = min(k, len(doc_ids))
    hits, scores = retriever.retrieve(tokens, k=k, show_progress=False)
    ids = np.asarray(doc_ids, dtype=object)
    return {
        qid: {str(ids[j]): float(s) for j, s in zip(hits[i], scores[i]) if s > 0}
        for i, qid in enumerate(qids)
    }


def ndcg_at_10(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> float:
    """Mean nDCG@10 over the judged queries (a query with no hits counts as 0)."""
    import ir_measures

    judged = {q: r for q, r in qrels.items() if r}
    full_run = {q: run.get(q, {}) for q in judged}
    per_query = {m.query_id: m.value for m in ir_measures.iter_calc([ir_measures.nDCG @ 10], judged, full_run)}
    return float(sum(per_query.get(q, 0.0) for q in judged) / max(len(judged), 1))
