"""Run the demo end to end: encode a corpus, index it, search, explain, score against BM25."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from laconic.demo.baseline import bm25_run, ndcg_at_10
from laconic.demo.cache import cache_key, cache_root
from laconic.demo.config import DemoConfig
from laconic.demo.data import DemoData, load_demo_data
from laconic.demo.terms import format_terms, term_strings


@dataclass
class DemoReport:
    """What the demo measured (returned for tests and scripting; also printed)."""

    num_docs: int
    mean_doc_terms: float
    encode_seconds: float
    shown: list[dict] = field(default_factory=list)  # {"query", "hits": [(doc_id, score, [(term, contribution)])]}
    ndcg_model: float | None = None
    ndcg_bm25: float | None = None
    num_eval_queries: int = 0


def _subset(data: DemoData, max_docs: int | None, keep: set[str]) -> DemoData:
    """The first ``max_docs`` documents plus every document in ``keep`` (judged ones)."""
    if not max_docs or max_docs >= len(data.doc_ids):
        return data
    chosen = [i for i, d in enumerate(data.doc_ids) if i < max_docs or d in keep]
    return DemoData(
        name=data.name,
        doc_ids=[data.doc_ids[i] for i in chosen],
        docs=[data.docs[i] for i in chosen],
        queries=data.queries,
        qrels=data.qrels,
    )


def _load_encoder(config: DemoConfig):
    from laconic.encoder import SparseEncoder

    return SparseEncoder.from_pretrained(str(config.model))


def run_demo(config: DemoConfig, *, encoder=None, out: Callable[[str], None] = print) -> DemoReport:
    """Index ``config.dataset`` with ``config.model``, print ranked and explained results.

    Args:
        config: what to index and show.
        encoder: an already loaded ``SparseEncoder`` (tests pass one); loaded from ``config.model`` if None.
        out: where lines go (``print`` by default).

    Example:
        >>> run_demo(DemoConfig(dataset=Path("../shared/data/beir/scifact"), model=Path("models/laconic-minilm")))  # doctest: +SKIP
    """
    data = load_demo_data(config.dataset, config.split)  # bad input fails before any model loads
    from laconic.index import SparseIndex

    shown_qids = list(data.queries)[: config.num_queries]
    # A cut corpus keeps every judged document of the queries it is scored on, so nDCG stays meaningful.
    scored = data.queries if config.evaluate else shown_qids
    keep = {d for q in scored for d in data.qrels.get(q, {})}
    total = len(data.doc_ids)
    data = _subset(data, config.max_docs, keep)
    encoder = encoder if encoder is not None else _load_encoder(config)
    cut = f" of {total:,} (all judged ones kept; --max-docs 0 indexes all)" if len(data.doc_ids) < total else ""
    out(f"laconic demo: {data.name}, {len(data.doc_ids):,} documents{cut}, model {config.model}")

    cached = cache_root() / cache_key(config.model, config.dataset, data.doc_ids) if config.cache else None
    start = time.perf_counter()
    if cached is not None and cached.is_dir():
        index = SparseIndex.open(cached)
        out(f"index loaded from cache {cached} (delete it, or pass --no-cache, to re-encode)")
    else:
        doc_vectors = encoder.encode_documents(data.docs, batch_size=config.batch_size, show_progress=True, ids=data.doc_ids)
        seconds = time.perf_counter() - start
        out(f"encoded {len(data.doc_ids):,} documents in {seconds:.1f} s ({len(data.doc_ids) / max(seconds, 1e-9):.1f} docs/s)")
        index = SparseIndex.build(doc_vectors, ids=data.doc_ids)
        index.warm_up()  # numba compiles each kernel on first use: keep that out of the timings shown
        if cached is not None:
            index.save(cached)
    stats = index.stats()
    report = DemoReport(
        num_docs=len(data.doc_ids),
        mean_doc_terms=stats["postings"] / max(stats["documents"], 1),
        encode_seconds=time.perf_counter() - start,
    )
    out(
        f"index: {report.mean_doc_terms:.0f} terms per document on average, "
        f"{stats['bytes_per_doc']:,.0f} bytes per document"
    )

    titles = dict(zip(data.doc_ids, (" ".join((d["title"] or d["text"][:120]).split()) for d in data.docs)))
    examples = [(qid, data.queries[qid]) for qid in shown_qids] + [(None, q) for q in config.queries]
    for n, (qid, text) in enumerate(examples, 1):
        report.shown.append(_show_query(n, qid, text, encoder, index, data, titles, config, out))

    if config.evaluate and data.qrels:
        _compare_with_bm25(encoder, index, data, config, report, out)
    elif config.evaluate:
        out(f"(no queries.jsonl + qrels/{config.split}.tsv next to the corpus: nDCG@10 skipped)")
    return report


def _show_query(n, qid, text, encoder, index, data, titles, config, out) -> dict:
    """Search one query and print its hits with the query terms that matched each."""
    qvec = encoder.encode_queries([text], show_progress=False)
    results = index.search(qvec, k=config.top_k, threads=config.threads)
    hit_ids, hit_scores = results.ids[0], results.scores[0]
    judged = data.qrels.get(qid, {}) if qid is not None else {}
    q_idx, q_val = qvec.row(0)
    order = np.argsort(-q_val)[: config.terms_per_hit]
    q_terms = list(zip(term_strings(encoder.tokenizer, q_idx[order]), q_val[order]))
    out("")
    out(f"Query {n}{f' [{data.name} {config.split} id {qid}]' if qid is not None else ''}: {text}")
    out(f"  heaviest query terms: {format_terms(q_terms, config.terms_per_hit)}")
    explained = index.explain(qvec, list(hit_ids)) if hit_ids else []
    hits = []
    for rank, (doc_id, score, contribs) in enumerate(zip(hit_ids, hit_scores, explained), 1):
        names = term_strings(encoder.tokenizer, [t for t, _ in contribs[: config.terms_per_hit]])
        pairs = list(zip(names, (c for _, c in contribs[: config.terms_per_hit])))
        mark = " [relevant]" if doc_id in judged else ""
        out(f"  {rank}. {score:7.2f}  {doc_id}{mark}  {titles.get(doc_id, '')[:90]}")
        out(f"       matched: {format_terms(pairs, config.terms_per_hit)}")
        hits.append((doc_id, float(score), pairs))
    if not hit_ids:
        out("  (no document shares a term with this query)")
    return {"query": text, "query_id": qid, "hits": hits}


def _compare_with_bm25(encoder, index, data, config, report, out) -> None:
    """nDCG@10 of every judged query of the split, this model vs BM25."""
    qids = list(data.queries)
    qvecs = encoder.encode_queries([data.queries[q] for q in qids], batch_size=config.batch_size, show_progress=False)
    start = time.perf_counter()
    results = index.search(qvecs, k=10, threads=config.threads)
    search_ms = (time.perf_counter() - start) * 1000 / max(len(qids), 1)
    run = {q: dict(zip(ids, map(float, scores))) for q, ids, scores in zip(qids, results.ids, results.scores)}
    report.ndcg_model = ndcg_at_10(data.qrels, run)
    report.ndcg_bm25 = ndcg_at_10(data.qrels, bm25_run(data.doc_ids, data.docs, data.queries, k=10))
    report.num_eval_queries = len(qids)
    out("")
    out(f"nDCG@10 on {data.name} {config.split} ({len(qids)} queries, {len(data.doc_ids):,} documents):")
    out(f"  laconic ({config.model.name})  {report.ndcg_model:.4f}   ({search_ms:.2f} ms/query search, 1 thread)")
    out(f"  BM25 (bm25s)      {report.ndcg_bm25:.4f}")
