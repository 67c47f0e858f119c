"""``RetrievalSystem``: the four steps the runner times, whatever retrieves.

LACONIC, BM25 and a dense model all go through the same runner so their
report rows are comparable; each only says how to encode, index and search.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from laconic.evaluation.datasets import BeirDataset

__all__ = ["RetrievalSystem"]


class RetrievalSystem(ABC):
    """What a retriever must provide to be evaluated by :func:`laconic.evaluation.run_system`.

    Encoded queries must support ``len()`` and slicing (``q[i:i + 1]``) so the
    runner can time single queries. ``search`` returns, per query, the
    retrieved document ids and their float32 scores, best first.
    """

    #: ``laconic``, ``bm25`` or ``dense``: the report's ``system`` column.
    kind: str = "system"
    #: display name of the model (a path's last component, ``bm25``, ...).
    name: str = "model"

    @abstractmethod
    def encode_corpus(self, dataset: BeirDataset, show_progress: bool | None = None) -> Any:
        """Turn the corpus into whatever :meth:`build` indexes."""

    @abstractmethod
    def build(self, encoded_corpus: Any, doc_ids: list[str], show_progress: bool | None = None) -> None:
        """Build the searchable index from :meth:`encode_corpus`'s output."""

    @abstractmethod
    def encode_queries(self, texts: list[str], query_ids: list[str], show_progress: bool | None = None) -> Any:
        """Encode queries (sliceable, ``len`` = number of queries)."""

    @abstractmethod
    def search(self, encoded_queries: Any, k: int, threads: int | None = None) -> tuple[list[list[str]], list[np.ndarray]]:
        """Top-``k`` ``(ids, scores)`` per query, best first."""

    def mean_nnz(self, encoded: Any) -> float | None:
        """Mean non-zeros per encoded row (None when it means nothing for this system)."""
        return None

    def memory(self, n_docs: int, work_dir: Path | None) -> dict[str, Any]:
        """Index memory figures (see :mod:`laconic.evaluation.memory`)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Settings worth saving with the report (max lengths, k1/b, ...)."""
        return {}
