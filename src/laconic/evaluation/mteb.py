"""Run MTEB retrieval tasks with a LACONIC model and OUR inverted index doing the search.

mteb 2.x evaluates retrieval through ``mteb.models.SearchProtocol``: a model
object with ``index(corpus, ...)`` and ``search(queries, top_k, ...) ->
{qid: {doc_id: score}}``. Implementing it (instead of mteb's
``EncoderProtocol``) means mteb never asks for dense embeddings, so 128k-wide
sparse vectors are never densified and the search is our CPU index's.

``beir_task`` turns a local BEIR folder (or a loaded :class:`BeirDataset`) into an
mteb retrieval task, so everything runs offline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from laconic.evaluation.datasets import BeirDataset, load_beir
from laconic.evaluation.sparse_system import LaconicSystem
from laconic.sparse import SparseVectors

__all__ = ["LaconicMtebModel", "beir_task"]


class LaconicMtebModel:
    """An mteb ``SearchProtocol`` model: LACONIC encoding + :class:`laconic.SparseIndex` search.

    Args:
        encoder: a loaded ``SparseEncoder`` (or a model path, loaded on construction).
        mode: ``exact`` or ``approximate`` index search.
        params: ``SearchParams`` for approximate search.
        build_config: ``BuildConfig`` for the index.
        threads: search threads (None: the index's default).
        batch_size: encoding batch size (mteb's ``encode_kwargs["batch_size"]`` wins).
        name: model name shown in mteb's results.
        index_factory: ``(vectors, ids, config, show_progress) -> index``; None: ``SparseIndex.build``.

    Example:
        >>> import mteb  # doctest: +SKIP
        >>> model = LaconicMtebModel(SparseEncoder.from_pretrained("runs/laconic-1b"))  # doctest: +SKIP
        >>> mteb.evaluate(model, beir_task("../shared/data/beir/scifact"), cache=None)  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder: Any,
        *,
        mode: str = "exact",
        params: Any = None,
        build_config: Any = None,
        threads: int | None = None,
        batch_size: int = 32,
        name: str | None = None,
        index_factory: Any = None,
    ) -> None:
        if isinstance(encoder, str):
            from laconic.encoder import SparseEncoder

            encoder = SparseEncoder.from_pretrained(encoder)
        # Encoding, index building and search are the harness's own (LaconicSystem), so
        # mteb and `laconic eval` score exactly the same system.
        self.system = LaconicSystem(
            encoder, mode=mode, params=params, build_config=build_config,
            batch_size=batch_size, name=name, index_factory=index_factory,
        )
        self.encoder, self.threads, self.name = encoder, threads, self.system.name
        self._doc_vectors: SparseVectors | None = None
        self._row_of: dict[str, int] = {}

    @property
    def mteb_model_meta(self):
        """mteb's description of this model (sparse, dot-product scores)."""
        from mteb.models import ModelMeta

        name = self.name if "/" in self.name else f"laconic/{self.name}"
        return ModelMeta.create_empty(
            overwrites={"name": name, "revision": "local", "framework": ["PyTorch"], "similarity_fn_name": "dot"}
        )

    def _batch_size(self, encode_kwargs: dict[str, Any] | None) -> int:
        return int((encode_kwargs or {}).get("batch_size") or self.system.batch_size)

    def index(self, corpus: Any, *, task_metadata: Any = None, hf_split: str = "", hf_subset: str = "", encode_kwargs: dict[str, Any] | None = None, num_proc: int | None = None, **kwargs: Any) -> None:
        """Encode the corpus (``id``, ``title``, ``text`` columns) and build our index."""
        ids = [str(i) for i in corpus["id"]]
        columns = set(corpus.column_names)
        # no title column: no title (the profile then encodes the text alone)
        titles = corpus["title"] if "title" in columns else [None] * len(ids)
        texts = corpus["text"] if "text" in columns else [""] * len(ids)
        docs = [{"title": t, "text": x or ""} for t, x in zip(titles, texts)]
        vectors = self.encoder.encode_documents(docs, batch_size=self._batch_size(encode_kwargs), ids=ids)
        self.system.build(vectors, ids)
        self._doc_vectors = vectors
        self._row_of = {d: i for i, d in enumerate(ids)}

    def search(
        self,
        queries: Any,
        *,
        task_metadata: Any = None,
        hf_split: str = "",
        hf_subset: str = "",
        top_k: int,
        encode_kwargs: dict[str, Any] | None = None,
        top_ranked: dict[str, list[str]] | None = None,
        num_proc: int | None = None,
        **kwargs: Any,
    ) -> dict[str, dict[str, float]]:
        """Top-``top_k`` ``{qid: {doc_id: score}}``; with ``top_ranked`` (re-ranking tasks) only those docs are scored."""
        if self.system.index is None:
            raise RuntimeError("search() called before index()")
        qids = [str(i) for i in queries["id"]]
        texts = list(queries["text"])
        if "instruction" in queries.column_names:
            texts = [f"{ins} {t}".strip() if ins else t for ins, t in zip(queries["instruction"], texts)]
        qvecs = self.encoder.encode_queries(texts, batch_size=self._batch_size(encode_kwargs), ids=qids)
        if top_ranked is not None:
            return self._rerank(qids, qvecs, top_ranked, top_k)
        k = max(1, min(int(top_k), len(self._row_of)))
        ids, scores = self.system.search(qvecs, k, threads=self.threads)
        return {q: dict(zip(map(str, i), map(float, sc))) for q, i, sc in zip(qids, ids, scores)}

    def _rerank(self, qids: list[str], qvecs: SparseVectors, top_ranked: dict[str, list[str]], top_k: int) -> dict[str, dict[str, float]]:
        """Exact dot products against each query's candidate list (a sparse matrix product per query)."""
        docs = self._doc_vectors.to_scipy()
        out: dict[str, dict[str, float]] = {}
        for i, q in enumerate(qids):
            cands = [d for d in top_ranked.get(q, []) if d in self._row_of]
            if not cands:
                out[q] = {}
                continue
            rows = np.fromiter((self._row_of[d] for d in cands), np.int64, len(cands))
            scores = np.asarray((docs[rows] @ qvecs[i].to_scipy().T).todense()).ravel()
            order = np.argsort(-scores, kind="stable")[:top_k]
            out[q] = {cands[j]: float(scores[j]) for j in order}
        return out


def beir_task(dataset: str | Any | BeirDataset, split: str = "test", name: str | None = None):
    """An mteb retrieval task (``AbsTaskRetrieval``) over a local BEIR folder or dataset, offline.

    Args:
        dataset: a BEIR folder or a loaded :class:`BeirDataset` (e.g. a subset).
        split: the split to evaluate (the task's only eval split).
        name: the task's name in mteb's results (default ``Local<Dataset>``).
    """
    from datasets import Dataset
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.task_metadata import TaskMetadata

    ds = dataset if isinstance(dataset, BeirDataset) else load_beir(dataset, split)
    task_name = name or f"Local{ds.name.capitalize()}"
    metadata = TaskMetadata(
        name=task_name,
        description=f"BEIR {ds.name} ({ds.split}) read from local files by laconic.",
        reference="https://github.com/beir-cellar/beir",
        dataset={"path": f"local/{ds.name}", "revision": "local"},
        type="Retrieval",
        category="t2t",
        modalities=["text"],
        eval_splits=[ds.split],
        eval_langs=["eng-Latn"],
        main_score="ndcg_at_10",
        date=None,
        domains=[],
        task_subtypes=[],
        license="not specified",
        annotations_creators="derived",
        dialect=[],
        sample_creation="found",
        bibtex_citation="",
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        corpus = Dataset.from_dict({"id": ds.doc_ids, "title": ds.titles, "text": ds.texts})
        queries = Dataset.from_dict({"id": ds.query_ids, "text": ds.queries})
        split_data = {"corpus": corpus, "queries": queries, "relevant_docs": ds.qrels, "top_ranked": None}
        self.dataset = {"default": {ds.split: split_data}}
        self.data_loaded = True

    cls = type(task_name, (AbsTaskRetrieval,), {"metadata": metadata, "load_data": load_data})
    return cls()
