"""``SparseIndex``: the public inverted index over ``SparseVectors``.

The Python layer validates, dispatches and maps ids; every loop over postings
or documents runs in ``laconic.index.kernels``. State is one immutable
snapshot ``(segments, ids, deleted)`` swapped under a lock, so a search that
started before an ``add``/``delete`` finishes on the version it began with.
Design and measurements: docs/architecture-index.md.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numba
import numpy as np

from laconic.errors import StorageError, UnknownDocumentError
from laconic.index import kernels as K
from laconic.index.builder import build_segments
from laconic.index.config import BuildConfig, SearchParams
from laconic.index.format import read_index, write_index
from laconic.index.ids import IdTable
from laconic.index.merge import merge_newest
from laconic.index.results import SearchResults
from laconic.index.segment import NO_DENSE, NO_FORWARD, Segment
from laconic.sparse import SparseVectors

_MODES = {"exact": K.MODE_EXACT, "approximate": K.MODE_APPROXIMATE, "exhaustive": K.MODE_EXHAUSTIVE}


@dataclass(frozen=True)
class _Snapshot:
    segments: tuple[Segment, ...]
    ids: IdTable
    deleted: np.ndarray  # bool per global order; never mutated once published


def check_ids(ids: list[str], taken: dict[str, int] | None = None, deleted: np.ndarray | None = None) -> None:
    seen: set[str] = set()
    for i in ids:
        if not isinstance(i, str):
            raise ValueError(f"document ids must be strings, got {type(i).__name__} {i!r}")
        if i in seen:
            raise ValueError(f"duplicate document id {i!r}")
        seen.add(i)
        if taken is not None and i in taken and not deleted[taken[i]]:
            raise ValueError(f"document id {i!r} is already in the index (delete it first)")


class SparseIndex:
    """Block-max inverted index with exact and approximate top-k search on CPU.

    Build it from document vectors, search it with query vectors; ``add`` and
    ``delete`` work in place, ``save``/``open`` persist it (memory-mapped).

    Args:
        vocab_size: number of term ids (columns of the vectors).
        config: the ``BuildConfig`` used for every segment.
        snapshot: internal state; use :meth:`build` or :meth:`open`.

    Example:
        >>> docs = SparseVectors.from_dicts([{1: 1.0, 5: 2.0}, {5: 0.5}], vocab_size=8, ids=["a", "b"])
        >>> index = SparseIndex.build(docs)
        >>> index.search(SparseVectors.from_dicts([{5: 1.0}], vocab_size=8), k=1).ids
        [['a']]
    """

    def __init__(self, vocab_size: int, config: BuildConfig, snapshot: _Snapshot, path: Path | None = None) -> None:
        self.vocab_size = int(vocab_size)
        self.config = config
        self._snap = snapshot
        self._lock = threading.Lock()  # serialises writers; readers only read self._snap
        self._pool: ThreadPoolExecutor | None = None
        self.path = path

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        vectors: SparseVectors,
        ids: list[str] | None = None,
        config: BuildConfig | None = None,
        show_progress: bool | None = None,
        workers: int | None = None,
    ) -> SparseIndex:
        """Index ``vectors``; ids default to ``vectors.ids``, else ``"0".."n-1"``.

        ``workers`` threads lay out the postings (default: all cores); the index is the
        same whatever the count.

        Raises ValueError on duplicate ids and on negative or non-finite weights.
        """
        if not isinstance(vectors, SparseVectors):
            raise TypeError(f"build takes SparseVectors, got {type(vectors).__name__}")
        config = config or BuildConfig()
        ids = list(ids if ids is not None else vectors.ids if vectors.ids is not None else map(str, range(len(vectors))))
        if len(ids) != len(vectors):
            raise ValueError(f"got {len(ids)} ids for {len(vectors)} vectors")
        check_ids(ids)
        show = len(vectors) >= 200_000 if show_progress is None else show_progress
        segments = build_segments(vectors, config, 0, show, workers=_threads(workers))
        snap = _Snapshot(tuple(segments), IdTable.from_list(ids), np.zeros(len(ids), bool))
        return cls(vectors.vocab_size, config, snap)

    @classmethod
    def build_from_files(
        cls,
        files: list[str | Path],
        output: str | Path,
        config: BuildConfig | None = None,
        show_progress: bool | None = None,
        workers: int | None = None,
    ) -> SparseIndex:
        """Build an index from ``.npz`` vector shards into directory ``output``, shard by shard.

        Peak memory is about ``workers`` shards and their segments, however many
        shards there are (nothing is concatenated in RAM); ``workers`` shards are
        laid out at once (default: all cores). Documents without ids are numbered
        across shards in file order. ``output`` appears atomically when every
        shard is in; on any error it is left as it was. Returns the index, opened
        memory-mapped. See :func:`laconic.index.streaming.build_files`.

        Raises:
            InputError (a ValueError): a shard is unreadable, has another
                vocabulary, bad weights or an id seen before; it names the file.
        """
        from laconic.index.streaming import build_files

        build_files(files, output, config or BuildConfig(), show_progress, workers or _threads(None))
        return cls.open(output, warm_up=False, checksums=False)

    # ------------------------------------------------------------- persistence
    def save(self, path: str | Path, storage: str | None = None) -> None:
        """Write the index to directory ``path`` atomically (replacing any old one).

        ``storage``: ``"blocks"`` or ``"compact"`` for this save (recorded in the
        saved header, so the saved index keeps it); default ``config.storage``.
        See ``BuildConfig.storage``.

        Raises:
            StorageError: the write failed (a full disk, say); ``path`` still holds
                its previous index, untouched, and no temporary files are left.
        """
        snap = self._snap
        config = self.config if storage is None else replace(self.config, storage=storage)
        try:
            write_index(
                path, vocab_size=self.vocab_size, config=config, segments=list(snap.segments), ids=snap.ids,
                deleted=snap.deleted,
            )
        except OSError as exc:
            if isinstance(exc, StorageError):
                raise
            raise StorageError(
                exc.errno, f"{path}: could not write the index ({exc.strerror or exc}); the previous index is unchanged"
            ) from exc

    @classmethod
    def open(cls, path: str | Path, verify: bool = False, warm_up: bool = True, checksums: bool = True) -> SparseIndex:
        """Open a saved index memory-mapped, after checking it (raises ``IndexCorruptError``).

        Every open verifies each file's checksum and the structural invariants the
        kernels rely on (``verify`` is kept for compatibility: it is always the full
        check). ``checksums=False`` skips only the checksums, for an index far larger
        than RAM; a file that fails the structural checks is still refused.
        """
        parts = read_index(path, verify=verify, checksums=checksums)
        snap = _Snapshot(tuple(parts["segments"]), parts["ids"], parts["deleted"])
        index = cls(parts["vocab_size"], parts["config"], snap, Path(path))
        if warm_up:
            index.warm_up()
        return index

    def warm_up(self) -> None:
        """Run one tiny query per mode so numba's compiled kernels are loaded before real traffic."""
        q = SparseVectors.from_dicts([{0: 1.0}], self.vocab_size)
        for mode, params in (("exact", None), ("approximate", None), ("approximate", SearchParams(query_cut=1))):
            # query_cut=1 on a one-term query compiles the two-stage kernel without building forward rows
            self.search(q, k=1, mode=mode, params=params)
            self.search(SparseVectors.concat([q, q]), k=1, mode=mode, params=params)

    def build_forward(self) -> int:
        """Build every segment's forward rows now; returns their bytes.

        ``SearchParams(query_cut=...)`` needs them and builds them on its first
        search otherwise: one pass over the postings, ~3.5 s per 77M postings
        on one core, 27 s at 1M LACONIC-shaped documents, 8 bytes per posting
        of RAM. A service calls this at start so no request pays that pause.
        """
        snap = self._snap
        for seg in snap.segments:
            seg.forward()
        return sum(seg.forward_bytes() for seg in snap.segments)

    # ------------------------------------------------------------------ search
    def search(
        self,
        queries: SparseVectors,
        k: int = 10,
        mode: str = "exact",
        params: SearchParams | None = None,
        threads: int | None = None,
    ) -> SearchResults:
        """Top-``k`` documents per query by dot product over the stored weights.

        Args:
            queries: query vectors (same vocabulary as the index, weights >= 0:
                block upper bounds assume no negative contributions).
            k: hits per query (fewer when fewer documents match; capped at the
                collection size, so a huge k allocates nothing huge).
            mode: ``"exact"`` (the true top-k, ties by insertion order),
                ``"approximate"`` (faster, tuned by ``params``) or
                ``"exhaustive"`` (scores every posting; the test oracle).
            params: ``SearchParams`` for approximate mode.
            threads: cores to use (default all); a batch spreads queries over
                them, a single query spreads segments over them.
        """
        if not isinstance(queries, SparseVectors):
            raise TypeError(f"search takes SparseVectors, got {type(queries).__name__}")
        if queries.vocab_size != self.vocab_size:
            raise ValueError(f"query vocab_size {queries.vocab_size} != index vocab_size {self.vocab_size}")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
        k = int(k)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if queries.nnz and not (queries.values >= 0).all():  # also catches NaN
            row = int(np.searchsorted(queries.indptr, int(np.argmin(queries.values >= 0)), side="right") - 1)
            raise ValueError(f"query {row} has a negative or NaN weight: query weights must be >= 0")
        params = params or SearchParams()
        snap = self._snap
        k = max(1, min(k, len(snap.ids)))  # a heap larger than the collection is never needed
        nq = len(queries)
        hs = np.zeros((nq, k), np.float32)
        ho = np.full((nq, k), -1, np.int64)
        sizes = np.zeros(nq, np.int64)
        q_ix = queries.indices
        q_w = queries.values
        cut = mode == "approximate" and params.query_cut > 0 and nq > 0 and int(queries.row_nnz().max()) > params.query_cut
        candidates = max(k, min(params.candidates or 10 * k, len(snap.ids)))
        args = (_MODES[mode], float(params.alpha), int(params.query_cut), candidates, int(params.max_blocks))
        n_threads = _threads(threads)
        if nq == 1 and (n_threads == 1 or len(snap.segments) == 1):
            for seg in snap.segments:
                sizes[0] = _single(seg, q_ix, q_w, snap.deleted, k, args, hs[0], ho[0], int(sizes[0]), cut)
        elif nq == 1:
            self._single_parallel(snap, q_ix, q_w, k, args, n_threads, hs, ho, sizes, cut)
        elif nq > 1:
            prev = numba.get_num_threads()
            numba.set_num_threads(n_threads)
            try:
                chunks = min(nq, n_threads * 8)
                for seg in snap.segments:
                    K.search_batch(
                        queries.indptr, q_ix, q_w, seg.seg, seg.forward() if cut else NO_FORWARD, seg.block_size,
                        seg.n_docs, snap.deleted, k, *args, hs, ho, sizes, chunks,
                    )
            finally:
                numba.set_num_threads(prev)
        K.finish_heaps(hs, ho, sizes)
        ids = [snap.ids.many(ho[i, : sizes[i]]) for i in range(nq)]
        return SearchResults(ids, [hs[i, : sizes[i]].copy() for i in range(nq)])

    def _single_parallel(self, snap, q_ix, q_w, k, args, n_threads, hs, ho, sizes, cut) -> None:
        """One query, segments searched on ``n_threads`` threads (nogil kernels), heaps merged."""
        if self._pool is None or self._pool._max_workers < n_threads:  # noqa: SLF001
            self._pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="laconic-search")
        segs = snap.segments

        def run(group: tuple[Segment, ...]):
            h_s = np.zeros(k, np.float32)
            h_o = np.full(k, -1, np.int64)
            size = 0
            for seg in group:
                size = _single(seg, q_ix, q_w, snap.deleted, k, args, h_s, h_o, size, cut)
            return h_s[:size], h_o[:size]

        groups = [segs[i::n_threads] for i in range(min(n_threads, len(segs)))]
        parts = list(self._pool.map(run, groups))
        all_s = np.concatenate([p[0] for p in parts])
        all_o = np.concatenate([p[1] for p in parts])
        top = np.lexsort((all_o, -all_s))[:k]
        n = top.size
        hs[0, :n] = all_s[top]
        ho[0, :n] = all_o[top]
        sizes[0] = n
        _to_heap(hs[0], ho[0], n)  # finish_heaps expects heap order

    # ----------------------------------------------------------------- updates
    def add(self, vectors: SparseVectors, ids: list[str] | None = None) -> None:
        """Append documents as a new segment (visible to searches that start afterwards).

        The merge policy (``BuildConfig.merge_factor``, see ``laconic.index.merge``)
        may then merge the newest segments, so many small adds stay few segments.
        """
        if not isinstance(vectors, SparseVectors):
            raise TypeError(f"add takes SparseVectors, got {type(vectors).__name__}")
        if vectors.vocab_size != self.vocab_size:
            raise ValueError(f"vectors vocab_size {vectors.vocab_size} != index vocab_size {self.vocab_size}")
        ids = list(ids if ids is not None else vectors.ids if vectors.ids is not None else [])
        if len(ids) != len(vectors):
            raise ValueError(f"add needs one id per vector: got {len(ids)} ids for {len(vectors)} vectors")
        if not ids:
            return
        with self._lock:
            snap = self._snap
            check_ids(ids, snap.ids.lookup(), snap.deleted)
            segments = build_segments(vectors, self.config, len(snap.ids))
            new_ids = snap.ids.appended(ids)
            deleted = np.concatenate([snap.deleted, np.zeros(len(ids), bool)])
            merged = merge_newest(snap.segments + tuple(segments), deleted, self.config, self.vocab_size)
            self._snap = _Snapshot(merged, new_ids, deleted)

    def delete(self, ids: list[str]) -> int:
        """Tombstone documents by id; returns how many were live (unknown ids are ignored)."""
        with self._lock:
            snap = self._snap
            lookup = snap.ids.lookup()
            orders = np.array([lookup[i] for i in ids if i in lookup], np.int64)
            live = orders[~snap.deleted[orders]] if orders.size else orders
            if live.size == 0:
                return 0
            deleted = snap.deleted.copy()
            deleted[live] = True
            self._snap = _Snapshot(snap.segments, snap.ids, deleted)
            return int(np.unique(live).size)

    def compact(self) -> None:
        """Rewrite all segments as one fresh build of the live documents (drops tombstones)."""
        with self._lock:
            vectors = self._vectors(self._snap)
            segments = build_segments(vectors, self.config, 0)
            self._snap = _Snapshot(tuple(segments), IdTable.from_list(vectors.ids), np.zeros(len(vectors), bool))

    # -------------------------------------------------------------- inspection
    def vectors(self) -> SparseVectors:
        """The live documents' stored (dequantised) weights, in insertion order, with ids."""
        return self._vectors(self._snap)

    def _vectors(self, snap: _Snapshot) -> SparseVectors:
        import scipy.sparse as sp

        parts = []
        orders_all = []
        for seg in snap.segments:
            orders, indptr, indices, weights = seg.dequantised()
            parts.append(sp.csr_matrix((weights, indices, indptr), shape=(seg.n_docs, self.vocab_size)))
            orders_all.append(orders)
        if not parts:
            return SparseVectors.empty(self.vocab_size).with_ids([])
        mat = sp.vstack(parts, format="csr")
        orders = np.concatenate(orders_all)
        keep = np.argsort(orders, kind="stable")
        keep = keep[~snap.deleted[orders[keep]]]
        return SparseVectors.from_scipy(mat[keep], ids=snap.ids.many(orders[keep]))

    def explain(self, query: SparseVectors, doc_ids: list[str]) -> list[list[tuple[int, float]]]:
        """Per document, ``(term_id, contribution)`` of each matched query term, largest first."""
        if not isinstance(query, SparseVectors) or len(query) != 1:
            raise ValueError("explain takes a SparseVectors holding exactly one query")
        snap = self._snap
        lookup = snap.ids.lookup()
        q_t, q_w = query.row(0)
        where: dict[int, tuple[Segment, int]] = {}
        for seg in snap.segments:  # position of each global order (one vectorised pass per segment)
            order_arr = np.asarray(seg.arrays["doc_order"])
            wanted = np.array([lookup[d] for d in doc_ids if d in lookup], np.int64)
            hit = np.flatnonzero(np.isin(order_arr, wanted))
            for p in hit.tolist():
                where[int(order_arr[p])] = (seg, p)
        out = []
        for d in doc_ids:
            g = lookup.get(d)
            if g is None or snap.deleted[g] or g not in where:
                raise UnknownDocumentError(f"document id {d!r} is not in the index (never added, or deleted)")
            seg, p = where[g]
            weights = K.explain_docs(q_t, q_w, np.array([p], np.int64), seg.seg, seg.block_size)[0]
            contrib = q_w.astype(np.float64) * weights
            pairs = [(int(t), float(c)) for t, c in zip(q_t.tolist(), contrib.tolist()) if c > 0]
            pairs.sort(key=lambda tc: (-tc[1], tc[0]))
            out.append(pairs)
        return out

    def ids(self) -> list[str]:
        """Ids of the live (not deleted) documents, in index order."""
        snap = self._snap
        return [d for d, gone in zip(snap.ids.to_list(), snap.deleted.tolist()) if not gone]

    def __len__(self) -> int:
        snap = self._snap
        return int(snap.deleted.size - snap.deleted.sum())

    def stats(self) -> dict[str, Any]:
        """Counts and bytes per component (``bytes_per_doc`` is over live documents)."""
        snap = self._snap
        comp: dict[str, int] = {}
        for seg in snap.segments:
            for name, b in seg.nbytes().items():
                comp[name] = comp.get(name, 0) + b
        comp["ids"] = int(snap.ids.blob.nbytes + snap.ids.offsets.nbytes)
        comp["deleted"] = int(snap.deleted.nbytes)
        total = sum(comp.values())
        live = len(self)
        return {
            "documents": live,
            "deleted": int(snap.deleted.sum()),
            "segments": len(snap.segments),
            "postings": sum(s.nnz for s in snap.segments),
            "term_block_pairs": sum(s.n_pairs for s in snap.segments),
            "blocks": sum(s.n_blocks for s in snap.segments),
            "vocab_size": self.vocab_size,
            "config": self.config.to_dict(),
            "bytes": comp,
            "total_bytes": total,
            "bytes_per_doc": total / max(live, 1),
            "forward_bytes": sum(seg.forward_bytes() for seg in snap.segments),  # RAM only, see SearchParams.query_cut
        }

    def __repr__(self) -> str:
        return f"SparseIndex(documents={len(self)}, segments={len(self._snap.segments)}, vocab_size={self.vocab_size})"


def _threads(threads: int | None) -> int:
    limit = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return limit
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return min(int(threads), limit)


def _single(seg: Segment, q_ix, q_w, deleted, k, args, hs, ho, size, cut: bool) -> int:
    """One query over one segment; ``cut``: the two-stage path needs forward rows and a dense query array."""
    fwd, qd = (seg.forward(), seg.dense_query()) if cut else (NO_FORWARD, NO_DENSE)
    return K.search_single(
        q_ix, q_w, seg.seg, fwd, seg.block_size, seg.n_docs, deleted, k,
        *args, hs, ho, size, seg.scratch(), qd,
    )


def _to_heap(hs: np.ndarray, ho: np.ndarray, n: int) -> None:
    """Turn a best-first sorted prefix into min-heap order (reverse of sorted is a valid heap)."""
    hs[:n] = hs[:n][::-1].copy()
    ho[:n] = ho[:n][::-1].copy()

