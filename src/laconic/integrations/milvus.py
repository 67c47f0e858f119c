"""Milvus as the scale-out path: put our ``SparseVectors`` into a Milvus collection and search there.

Our own index is one machine's memory-mapped files; past that, a distributed
engine that already shards, replicates and persists sparse vectors is the
better tool than anything we would write. Milvus has a native
``SPARSE_FLOAT_VECTOR`` field with an inner-product inverted index, i.e. the
same score as ours (dot product, no normalisation), so vectors from
``laconic encode`` go in unchanged and ids map back one to one.

The same code runs against milvus-lite (``MilvusClient("./file.db")``, an
embedded local process, for tests and laptops) and a Milvus cluster
(``MilvusClient("http://host:19530")``).

Milvus rules that shape this module: every stored vector needs at least one
positive weight (empty documents are skipped and reported, they can never
match), weights must be finite and non-negative, and primary keys here are
strings of at most ``MAX_ID_BYTES`` UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from laconic.sparse import SparseVectors

MAX_ID_BYTES = 512
ID_FIELD = "id"
VECTOR_FIELD = "vector"


@dataclass
class MilvusResults:
    """Top-k per query, like ``SearchResults``: string ids and float32 scores, best first."""

    ids: list[list[str]]
    scores: list[np.ndarray]


@dataclass
class IngestReport:
    """What :meth:`MilvusSparseCollection.insert` did."""

    inserted: int = 0
    skipped_empty: list[str] = field(default_factory=list)


def _rows(vectors: SparseVectors, rows: np.ndarray) -> list[dict[int, float]]:
    """Milvus's sparse row format: ``{term_id: weight}`` per vector."""
    out = []
    for i in rows.tolist():
        ix, vals = vectors.row(i)
        out.append(dict(zip(ix.tolist(), vals.tolist())))
    return out


def _check_weights(vectors: SparseVectors, what: str) -> None:
    if vectors.nnz and float(vectors.values.min()) < 0:
        raise ValueError(f"{what}: Milvus sparse vectors need non-negative weights (found {vectors.values.min()})")


class MilvusSparseCollection:
    """A Milvus collection of (string id, sparse vector) rows with an IP inverted index.

    Args:
        client: a ``pymilvus.MilvusClient`` or its URI (``"./laconic.db"`` for milvus-lite,
            ``"http://host:19530"`` for a server); a URI opens a client owned (and closed) by this object.
        name: the collection name.
        index_type: Milvus's sparse index; ``SPARSE_INVERTED_INDEX`` is exact with ``drop_ratio_search=0``.

    Example:
        >>> docs = SparseVectors.load("corpus.npz")  # from ``laconic encode``
        >>> with MilvusSparseCollection("./laconic.db", "scifact") as col:
        ...     col.create(drop_existing=True)
        ...     col.insert(docs, docs.ids)
        ...     hits = col.search(encoder.encode_queries(["vitamin d"]), k=10)
    """

    def __init__(self, client: Any, name: str, *, index_type: str = "SPARSE_INVERTED_INDEX") -> None:
        from pymilvus import MilvusClient

        self._owns_client = isinstance(client, str)
        self.client = MilvusClient(client) if isinstance(client, str) else client
        self.name = name
        self.index_type = index_type

    # ----------------------------------------------------------------- schema
    def create(self, *, drop_existing: bool = False) -> None:
        """Create the collection (string primary key, sparse vector, IP index) and load it."""
        from pymilvus import DataType

        if self.client.has_collection(self.name):
            if not drop_existing:
                raise ValueError(f"Milvus collection {self.name!r} exists (pass drop_existing=True to replace it)")
            self.client.drop_collection(self.name)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field(VECTOR_FIELD, DataType.SPARSE_FLOAT_VECTOR)
        params = self.client.prepare_index_params()
        params.add_index(field_name=VECTOR_FIELD, index_type=self.index_type, metric_type="IP")
        self.client.create_collection(self.name, schema=schema, index_params=params)
        self.client.load_collection(self.name)

    # ------------------------------------------------------------------ write
    def insert(
        self,
        vectors: SparseVectors,
        ids: Sequence[str] | None = None,
        *,
        batch_size: int = 1000,
        upsert: bool = False,
        show_progress: bool | None = None,
    ) -> IngestReport:
        """Add ``vectors`` under ``ids`` (default ``vectors.ids``); empty vectors are skipped.

        ``upsert=True`` replaces rows whose id exists (Milvus keeps duplicates on plain insert).
        """
        ids = list(ids) if ids is not None else vectors.ids
        if ids is None or len(ids) != len(vectors):
            raise ValueError(f"need one id per vector ({len(vectors)} vectors, {0 if ids is None else len(ids)} ids)")
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be unique")
        too_long = [i for i in ids if len(str(i).encode("utf-8")) > MAX_ID_BYTES]
        if too_long:
            raise ValueError(f"id {too_long[0][:40]!r}... longer than {MAX_ID_BYTES} UTF-8 bytes")
        _check_weights(vectors, "documents")
        # Rows without a positive weight can never score above 0 and Milvus refuses them.
        positive = np.zeros(len(vectors), bool)
        if vectors.nnz:
            row = np.repeat(np.arange(len(vectors)), vectors.row_nnz())
            positive[row[vectors.values > 0]] = True
        keep = np.flatnonzero(positive)
        report = IngestReport(skipped_empty=[ids[i] for i in np.flatnonzero(~positive).tolist()])
        write = self.client.upsert if upsert else self.client.insert
        starts = range(0, keep.size, batch_size)
        quiet = len(starts) < 10 if show_progress is None else not show_progress
        for start in tqdm(starts, desc="milvus ingest", unit="batch", disable=quiet):
            rows = keep[start : start + batch_size]
            data = [{ID_FIELD: ids[i], VECTOR_FIELD: vec} for i, vec in zip(rows.tolist(), _rows(vectors, rows))]
            write(self.name, data)
            report.inserted += len(data)
        self.client.flush(self.name)
        return report

    def delete(self, ids: Sequence[str]) -> None:
        """Remove rows by id (ids not present are ignored)."""
        if ids:
            self.client.delete(self.name, ids=list(ids))

    def count(self) -> int:
        """Rows stored (after a flush)."""
        return int(self.client.get_collection_stats(self.name)["row_count"])

    # ------------------------------------------------------------------- read
    def search(self, queries: SparseVectors, k: int = 10, *, drop_ratio_search: float = 0.0) -> MilvusResults:
        """Top-``k`` ids and inner-product scores per query.

        ``drop_ratio_search`` > 0 ignores that fraction of each query's smallest
        weights (Milvus's speed/recall knob); 0 keeps the search exact.
        """
        if not 1 <= k <= 16384:
            raise ValueError(f"k must lie in [1, 16384] for Milvus, got {k}")
        if not 0.0 <= drop_ratio_search < 1.0:
            raise ValueError(f"drop_ratio_search must lie in [0, 1), got {drop_ratio_search}")
        _check_weights(queries, "queries")
        out_ids: list[list[str]] = [[] for _ in range(len(queries))]
        out_scores = [np.zeros(0, np.float32) for _ in range(len(queries))]
        live = np.flatnonzero(queries.row_nnz() > 0)  # an empty query matches nothing
        if live.size == 0:
            return MilvusResults(out_ids, out_scores)
        hits = self.client.search(
            self.name,
            data=_rows(queries, live),
            anns_field=VECTOR_FIELD,
            limit=k,
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": drop_ratio_search}},
            output_fields=[ID_FIELD],
        )
        for row, per_query in zip(live.tolist(), hits):
            # Milvus returns ties in no fixed order; sort by (-score, id) so results are deterministic.
            pairs = sorted(((float(h["distance"]), str(h["id"])) for h in per_query), key=lambda p: (-p[0], p[1]))
            out_ids[row] = [doc for _, doc in pairs]
            out_scores[row] = np.array([s for s, _ in pairs], np.float32)
        return MilvusResults(out_ids, out_scores)

    # -------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Close the client if this object opened it (stops milvus-lite's local process)."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> MilvusSparseCollection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
