"""BM25 as a sparse encoder: the lexical floor through the same index, search and service as LACONIC.

BM25 is a dot product: with ``w(t, d) = idf(t) · tf / (tf + k1·(1 − b + b·|d|/avgdl))``
(Lucene's variant, what Anserini and ``bm25s`` compute) and a query vector of
term counts, ``BM25(q, d) = q · d``. So a fitted vocabulary with document
frequencies turns BM25 into one more :class:`SparseVectors` producer, and
``laconic index build``, ``search``, ``eval`` and ``serve`` run it unchanged:
the floor a learned encoder is compared with, in the same service shape.

Tokenisation, stopwords and stemming are ``bm25s``'s (library code); only the
weighting above is ours, and the tests check it against ``bm25s``'s scores.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import InputError
from laconic.sparse import SparseVectors
from laconic.storage import atomic_write_text

CONFIG_FILE = "bm25_encoder.json"


@dataclass(frozen=True)
class BM25Settings:
    """Anserini's BEIR settings by default."""

    k1: float = 0.9
    b: float = 0.4
    stopwords: str = "en"
    stemmer: str | None = "english"


class Vocabulary:
    """Term strings by id; spells ids the way a Hugging Face tokenizer's ``convert_ids_to_tokens`` does."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = list(terms)
        self.ids = {t: i for i, t in enumerate(self.terms)}

    def convert_ids_to_tokens(self, ids: int | Sequence[int]) -> str | list[str]:
        if isinstance(ids, (int, np.integer)):
            return self.terms[int(ids)]
        return [self.terms[int(i)] for i in ids]


class BM25Encoder:
    """A fitted BM25 model whose vectors reproduce BM25 scores as dot products.

    Example:
        >>> enc = BM25Encoder.fit(["the cat sat", "dogs bark"])  # doctest: +SKIP
        >>> enc.save("bm25/"); BM25Encoder.load("bm25/")  # doctest: +SKIP
    """

    def __init__(self, settings: BM25Settings, terms: Sequence[str], df: np.ndarray, n_docs: int, avgdl: float) -> None:
        self.settings = settings
        self.tokenizer = Vocabulary(terms)
        self.df = np.asarray(df, dtype=np.int64)
        self.n_docs = int(n_docs)
        self.avgdl = float(avgdl)
        # Lucene's idf (bm25s "lucene"): never negative, so every matched term adds to the score
        self.idf = np.log1p((self.n_docs - self.df + 0.5) / (self.df + 0.5)).astype(np.float32)
        self.profile = None  # no model text conventions (the service then skips token highlights)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer.terms)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, docs: Sequence[str | Mapping[str, Any]], settings: BM25Settings | None = None,
            show_progress: bool = False) -> BM25Encoder:
        """Vocabulary, document frequencies and mean length of ``docs`` (strings or BEIR dicts)."""
        settings = settings or BM25Settings()
        tokens = _tokenize([_doc_text(d) for d in docs], settings, show_progress)
        df: Counter[str] = Counter()
        for doc in tokens:
            df.update(set(doc))
        terms = sorted(df)
        lengths = [len(doc) for doc in tokens]
        avgdl = float(np.mean(lengths)) if lengths else 0.0
        return cls(settings, terms, np.array([df[t] for t in terms], dtype=np.int64), len(tokens), avgdl)

    # ----------------------------------------------------------------- encoding
    def encode_documents(self, docs: Sequence[str | Mapping[str, Any]], batch_size: int = 0,
                         show_progress: bool | None = None, ids: Sequence[str] | None = None,
                         **_: Any) -> SparseVectors:
        """BM25 term weights of each document (terms unseen at fit time are dropped)."""
        k1, b = self.settings.k1, self.settings.b
        rows = []
        for doc in _tokenize([_doc_text(d) for d in docs], self.settings, bool(show_progress)):
            counts = Counter(t for t in doc if t in self.tokenizer.ids)
            norm = k1 * (1.0 - b + b * len(doc) / self.avgdl) if self.avgdl > 0 else k1
            rows.append({self.tokenizer.ids[t]: float(self.idf[self.tokenizer.ids[t]] * tf / (tf + norm))
                         for t, tf in counts.items()})
        return SparseVectors.from_dicts(rows, self.vocab_size, ids)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 0, show_progress: bool | None = None,
                       ids: Sequence[str] | None = None, **_: Any) -> SparseVectors:
        """Counts of each known query term: the dot product with a document's weights is its BM25 score."""
        rows = []
        for query in _tokenize(list(texts), self.settings, bool(show_progress)):
            counts = Counter(t for t in query if t in self.tokenizer.ids)
            rows.append({self.tokenizer.ids[t]: float(c) for t, c in counts.items()})
        return SparseVectors.from_dicts(rows, self.vocab_size, ids)

    def encode(self, texts: Sequence[str | Mapping[str, Any]], kind: str = "query", **kwargs: Any) -> SparseVectors:
        """``encode_queries`` or ``encode_documents`` by ``kind``, as ``SparseEncoder.encode``."""
        if kind not in ("query", "document"):
            raise ValueError(f"kind must be 'query' or 'document', got {kind!r}")
        side = self.encode_queries if kind == "query" else self.encode_documents
        return side(texts, **kwargs)

    def decode(self, vector: SparseVectors, top_k: int | None = None) -> Any:
        """``[(term, weight), ...]`` by decreasing weight, as ``SparseEncoder.decode``."""
        out = [list(zip(self.tokenizer.convert_ids_to_tokens(idx.tolist()), vals.tolist()))
               for idx, vals in vector.ranked(top_k)]
        return out[0] if len(out) == 1 else out

    def eval(self) -> BM25Encoder:  # the service calls encoder.eval() on whatever it loads
        return self

    # -------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """``DIR/bm25_encoder.json``: settings, vocabulary, document frequencies (written atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        data = {"format": 1, "settings": asdict(self.settings), "n_docs": self.n_docs, "avgdl": self.avgdl,
                "terms": self.tokenizer.terms, "df": self.df.tolist()}
        atomic_write_text(directory / CONFIG_FILE, json.dumps(data))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> BM25Encoder:
        path = Path(directory) / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            settings = BM25Settings(**data["settings"])
            terms, df = data["terms"], np.asarray(data["df"], dtype=np.int64)
            n_docs, avgdl = int(data["n_docs"]), float(data["avgdl"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"not a BM25 encoder file ({type(exc).__name__}: {exc})", path=path) from None
        if len(terms) != len(df) or len(set(terms)) != len(terms) or (df < 1).any() or (df > n_docs).any() \
                or not math.isfinite(avgdl) or avgdl < 0:
            raise InputError("inconsistent BM25 statistics (terms, df, n_docs, avgdl)", path=path)
        return cls(settings, terms, df, n_docs, avgdl)

    @staticmethod
    def is_saved(directory: str | Path) -> bool:
        return (Path(directory) / CONFIG_FILE).is_file()


def _doc_text(doc: str | Mapping[str, Any]) -> str:
    from laconic.evaluation.datasets import document_text

    if isinstance(doc, Mapping):
        return document_text(str(doc.get("title") or ""), str(doc.get("text") or ""))
    return str(doc)


@functools.lru_cache(maxsize=8)
def _stemmer(language: str) -> Any:
    """One PyStemmer per language: building it costs more than stemming a query."""
    import Stemmer

    return Stemmer.Stemmer(language)


def bm25_tokenize(texts: list[str], stopwords: str = "en", stemmer: str | None = "english",
                  show_progress: bool = False) -> list[list[str]]:
    """``bm25s`` tokens (stopwords dropped, stemmed): the one tokenisation of every BM25 here."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=stopwords, stemmer=_stemmer(stemmer) if stemmer else None,
                          return_ids=False, show_progress=show_progress)


def _tokenize(texts: list[str], settings: BM25Settings, show_progress: bool) -> list[list[str]]:
    return bm25_tokenize(texts, settings.stopwords, settings.stemmer, show_progress)

