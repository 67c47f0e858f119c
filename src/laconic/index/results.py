"""``SearchResults``: ranked ids and scores per query."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SearchResults:
    """Top-k hits per query, best first.

    Args:
        ids: per query, the document ids in rank order.
        scores: per query, float32 scores, descending (ties: earlier-added
            document first).

    Example:
        >>> r = SearchResults([["d1", "d2"]], [np.array([2.0, 1.0], np.float32)])
        >>> r[0]
        [('d1', 2.0), ('d2', 1.0)]
    """

    ids: list[list[str]]
    scores: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> list[tuple[str, float]]:
        """Query ``i``'s hits as ``(id, score)`` pairs."""
        return list(zip(self.ids[i], self.scores[i].tolist()))

    def to_run(self, query_ids: list[str]) -> dict[str, dict[str, float]]:
        """``{query_id: {doc_id: score}}``, the shape ir_measures / pytrec_eval take."""
        if len(query_ids) != len(self.ids):
            raise ValueError(f"got {len(query_ids)} query ids for {len(self.ids)} result lists")
        return {q: dict(zip(d, s.tolist())) for q, d, s in zip(query_ids, self.ids, self.scores)}
