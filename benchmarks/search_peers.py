"""The systems the search benchmark times, behind one small interface.

Each system prepares its per-query inputs once (outside the timed region, as a
serving process would), then answers ``search_one(i)`` (one query, the
latency path) and ``search_batch(rows, threads)`` (the throughput path, which
returns an (nq, k) int64 array of document row numbers, -1 padded).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from laconic.sparse import SparseVectors


class System:
    """Interface: build, set threads, configure knobs, search one / a batch, report bytes."""

    name = "system"

    def __init__(self, queries: SparseVectors, k: int) -> None:
        self.queries, self.k = queries, k
        self.n_queries = len(queries)

    def build(self, docs: SparseVectors) -> None:
        raise NotImplementedError

    def set_threads(self, threads: int) -> None:
        """Default: nothing global to set (threads are passed per call)."""

    def configure(self, **params) -> None:
        self.params = params

    def search_one(self, i: int) -> object:
        raise NotImplementedError

    def search_batch(self, rows: slice, threads: int) -> np.ndarray:
        raise NotImplementedError

    def size_bytes(self) -> int:
        raise NotImplementedError

    def release(self) -> None:
        """Drop the index so the next system has the memory."""


def _pad(lists: list[list[int]], k: int) -> np.ndarray:
    out = np.full((len(lists), k), -1, np.int64)
    for i, hits in enumerate(lists):
        out[i, : len(hits)] = hits[:k]
    return out


# --------------------------------------------------------------- brute force
class BruteForce(System):
    """Exact oracle: scipy sparse ``q @ D^T`` (term-at-a-time over the transposed docs), argpartition top-k."""

    name = "brute force"

    def build(self, docs: SparseVectors) -> None:
        self.dt = docs.to_scipy().T.tocsr()  # (V, N): a query row times it walks only its terms' rows
        self.q = self.queries.to_scipy()
        self.q_rows = [self.q[i] for i in range(self.n_queries)]

    def _topk(self, scores: np.ndarray) -> np.ndarray:
        """(b, N) dense scores -> (b, k) doc rows, best first (zero scores never count as hits)."""
        k = min(self.k, scores.shape[1])
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(scores, part, 1)
        order = np.argsort(-top, axis=1, kind="stable")
        ids = np.take_along_axis(part, order, 1)
        return np.where(np.take_along_axis(top, order, 1) > 0, ids, -1)

    def search_one(self, i: int) -> np.ndarray:
        return self._topk((self.q_rows[i] @ self.dt).toarray())

    def search_batch(self, rows: slice, threads: int) -> np.ndarray:
        q = self.q[rows]
        out = [self._topk((q[a : a + 16] @ self.dt).toarray()) for a in range(0, q.shape[0], 16)]
        return np.concatenate(out) if out else np.zeros((0, self.k), np.int64)

    def size_bytes(self) -> int:
        return int(self.dt.data.nbytes + self.dt.indices.nbytes + self.dt.indptr.nbytes)

    def release(self) -> None:
        self.dt = None


# ------------------------------------------------------------------- Seismic
@contextmanager
def _capture_fd(fd: int = 1):
    """Collect what native code prints on ``fd`` (Seismic's Rust side prints its reports on 1, PISA on 2)."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        buf = io.StringIO()
        try:
            yield buf
        finally:
            stream.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            buf.write(tmp.read().decode(errors="replace"))


ADD_ROWS = 100_000  # documents handed to Seismic per add_documents_by_id call


class SeismicSystem(System):
    """pyseismic-lsr, large-vocabulary variant (term ids up to 128,256 exceed u16)."""

    name = "Seismic"

    def __init__(self, queries: SparseVectors, k: int, build_kwargs: dict, scratch: Path) -> None:
        super().__init__(queries, k)
        import seismic

        self.seismic, self.build_kwargs, self.scratch = seismic, build_kwargs, scratch
        self.threads = 1
        st = seismic.get_seismic_string()
        # Seismic takes query terms as strings ("42" addresses component 42)
        self.q_ids = np.array([str(i) for i in range(self.n_queries)], dtype=st)
        self.q_terms = [queries.row(i)[0].astype(st) for i in range(self.n_queries)]
        self.q_vals = [np.ascontiguousarray(queries.row(i)[1], np.float32) for i in range(self.n_queries)]
        self.params = {"query_cut": 10, "heap_factor": 0.9}

    def set_threads(self, threads: int) -> None:
        self.threads = threads

    def build(self, docs: SparseVectors) -> None:
        s = self.seismic
        with _capture_fd() as log:
            dataset = s.SeismicDatasetLV(dim=docs.vocab_size)
            # in slices, so the int64 copy Seismic's binding takes is one slice, not the collection
            # (3 GB at 1M LACONIC-shaped documents, which left no room for its index)
            for a in range(0, len(docs), ADD_ROWS):
                b = min(len(docs), a + ADD_ROWS)
                lo, hi = int(docs.indptr[a]), int(docs.indptr[b])
                dataset.add_documents_by_id(
                    [str(i) for i in range(a, b)], docs.indices[lo:hi].astype(np.int64),
                    np.ascontiguousarray(docs.values[lo:hi]), (docs.indptr[a:b + 1] - lo).astype(np.int64),
                )
            self.index = s.SeismicIndexLV.build_from_dataset(dataset, num_threads=self.threads, **self.build_kwargs)
            del dataset
        self.build_log = log.getvalue()

    def memory_bytes(self) -> int:
        """Seismic's own space report ("Total: N Bytes")."""
        with _capture_fd() as out:
            self.index.print_space_usage_byte()
        m = re.search(r"Total:\s*(\d+)\s*Bytes", out.getvalue())
        return int(m.group(1)) if m else -1

    def disk_bytes(self) -> int:
        prefix = self.scratch / "seismic"
        with _capture_fd():
            self.index.save(str(prefix))
        files = list(self.scratch.glob("seismic*"))
        size = sum(f.stat().st_size for f in files)
        for f in files:
            f.unlink()
        return size

    def size_bytes(self) -> int:
        if not hasattr(self, "_size"):
            self._size = self.memory_bytes()
        return self._size

    def search_one(self, i: int) -> object:
        p = self.params
        return self.index.search(str(i), self.q_terms[i], self.q_vals[i], self.k, p["query_cut"], p["heap_factor"])

    def search_batch(self, rows: slice, threads: int) -> np.ndarray:
        p = self.params
        res = self.index.batch_search(
            self.q_ids[rows], self.q_terms[rows], self.q_vals[rows], self.k, p["query_cut"], p["heap_factor"],
            num_threads=threads,
        )
        # batch_search returns the lists in completion order, not input order: place them by query id
        lists: list[list[int]] = [[] for _ in range(len(self.q_ids[rows]))]
        start = rows.start or 0
        for hits in res:
            if hits:
                lists[int(hits[0][0]) - start] = [int(d) for _, _, d in hits]
        return _pad(lists, self.k)

    def release(self) -> None:
        self.index = None


# ----------------------------------------------------------------------- BMP
BMP_MAX_TERMS = 1 << 16  # measured: bmp 0.2.8 keeps term ids in 16 bits (a 70k-term collection scores wrongly)


class BmpSystem(System):
    """``bmp`` (Block-Max Pruning, Mallia et al. SIGIR 2024, Rust), through its own ``Indexer``/``Searcher``.

    BMP takes integer impacts: weights are scaled by ``scale`` (its PyTerrier
    wrapper's default, 100) and rounded, and query weights the same way.
    Knobs: ``alpha`` (block threshold factor) and ``beta`` (share of query
    weight kept). Collections using more than 65,536 distinct terms are
    refused (``BmpSystem.fits``): BMP's term ids are 16-bit. BMP rescales
    each query's weights to a coarse grid of its own (its scores do not change
    when a query is multiplied by 10; docs/BENCHMARKS.md), which caps its
    recall on learned-sparse queries.
    """

    name = "BMP"

    def __init__(self, queries: SparseVectors, k: int, scratch: Path, bsize: int = 32, scale: float = 100.0) -> None:
        super().__init__(queries, k)
        import bmp

        self.bmp, self.scratch, self.bsize, self.scale = bmp, scratch, bsize, scale
        self.q_dicts = [self._impacts(*queries.row(i)) for i in range(self.n_queries)]
        self.params = {"alpha": 1.0, "beta": 1.0}

    @staticmethod
    def fits(docs: SparseVectors) -> bool:
        return int(np.count_nonzero(np.bincount(docs.indices, minlength=docs.vocab_size))) <= BMP_MAX_TERMS

    def _impacts(self, terms: np.ndarray, weights: np.ndarray) -> dict[str, int]:
        q = np.maximum(1, np.rint(weights * self.scale)).astype(np.int64)
        return dict(zip(map(str, terms.tolist()), q.tolist()))

    def build(self, docs: SparseVectors) -> None:
        self.path = self.scratch / "index.bmp"
        indexer = self.bmp.Indexer(str(self.path), bsize=self.bsize, compress_range=False)
        for i in range(len(docs)):  # BMP's API takes one dict per document: part of its build time
            indexer.add_document(str(i), self._impacts(*docs.row(i)))
        indexer.finish()
        self.searcher = self.bmp.Searcher(str(self.path))

    def search_one(self, i: int) -> object:
        p = self.params
        return self.searcher.search(self.q_dicts[i], k=self.k, alpha=p["alpha"], beta=p["beta"])

    def search_batch(self, rows: slice, threads: int) -> np.ndarray:
        """BMP's Python API has no batch call: queries one after another, one thread."""
        lists = [[int(d) for d in self.search_one(i)[0]] for i in range(*rows.indices(self.n_queries))]
        return _pad(lists, self.k)

    def size_bytes(self) -> int:
        return int(self.path.stat().st_size)

    def release(self) -> None:
        self.searcher = None
        self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------------- PISA
PISA_ALGORITHMS = ("maxscore", "block_max_maxscore", "block_max_wand")  # PISA's rank-safe dynamic pruning


class PisaSystem(System):
    """PISA (``pyterrier-pisa``): its block-max index over integer impacts, searched with its own pruning.

    The collection goes to PISA as its uncompressed "binary collection"
    (``inv.docs`` / ``inv.freqs`` / ``inv.sizes`` plus the term and document
    lexicons), written here with numpy from our CSR arrays: that is what
    pyterrier-pisa's ``toks_indexer`` writes too, but through a Python loop
    over every posting, which would time Python rather than PISA. PISA then
    compresses the lists (``block_simdbp``) and computes its block-max data
    when the retriever is prepared; both are part of the build time.

    Impacts are ``max(1, round(weight * scale))`` (pyterrier-pisa's default
    scale, 100; its own indexer truncates, which would drop weights below
    0.01) and queries are scaled the same way, so PISA ranks by the integer
    dot product. Every algorithm is rank-safe over those integers, so recall
    below 1 is the integer rounding. Knob: ``algorithm``. The searches go
    through ``_pisathon.retrieve`` (the call pyterrier-pisa's transformer
    makes) without its pandas frames, which would add milliseconds per query
    that are not PISA's.
    """

    name = "PISA"

    def __init__(self, queries: SparseVectors, k: int, scratch: Path, scale: float = 100.0) -> None:
        super().__init__(queries, k)
        import pyterrier_pisa

        self.pp, self.scratch, self.scale = pyterrier_pisa, scratch, scale
        # (query number, {term: impact}) as _pisathon takes them; PISA multiplies by nothing more
        self.q_inputs = []
        for i in range(self.n_queries):
            terms, weights = queries.row(i)
            impacts = np.maximum(1.0, np.rint(weights * scale))
            self.q_inputs.append((i, {f"{t:06d}": float(w) for t, w in zip(terms.tolist(), impacts.tolist())}))
        self.params = {"algorithm": "block_max_wand"}
        self.threads = 1

    def set_threads(self, threads: int) -> None:
        self.threads = threads

    def _write_collection(self, docs: SparseVectors, path: Path) -> None:
        csc = docs.to_scipy().tocsc()
        csc.sort_indices()
        df = np.diff(csc.indptr)
        used = np.flatnonzero(df)  # PISA's lexicon holds only the terms that occur
        impacts = np.maximum(1, np.rint(csc.data * self.scale)).astype(np.uint32)
        # each list is [length, entries...]: interleave the lengths with the postings of the used terms
        starts = csc.indptr[used] + np.arange(len(used))
        n = csc.nnz + len(used)
        head = np.zeros(n, bool)
        head[starts] = True
        body = np.flatnonzero(~head)
        with open(path / "inv.docs", "wb") as f_docs, open(path / "inv.freqs", "wb") as f_freqs:
            f_docs.write(np.array([1, len(docs)], np.uint32).tobytes())
            for out, payload in ((f_docs, csc.indices.astype(np.uint32)), (f_freqs, impacts)):
                arr = np.empty(n, np.uint32)
                arr[starts] = df[used]
                arr[body] = payload
                out.write(arr.tobytes())
        lengths = np.add.reduceat(np.maximum(1, np.rint(docs.values * self.scale)), docs.indptr[:-1]) \
            if docs.nnz else np.zeros(len(docs))
        lengths[np.diff(docs.indptr) == 0] = 0
        (path / "inv.sizes").write_bytes(np.concatenate([[len(docs)], lengths]).astype(np.uint32).tobytes())
        (path / "fwd.terms").write_text("".join(f"{t:06d}\n" for t in used.tolist()))
        (path / "fwd.documents").write_text("".join(f"{i}\n" for i in range(len(docs))))
        for text, lex in (("fwd.terms", "fwd.termlex"), ("fwd.documents", "fwd.doclex")):
            self.pp._pisathon.build_binlex(str(path / text), str(path / lex))
        (path / "pt_meta.json").write_text(json.dumps({"type": "sparse_index", "format": "pisa",
                                                        "package_hint": "pyterrier-pisa", "stemmer": "none"}))

    def build(self, docs: SparseVectors) -> None:
        if docs.vocab_size > 10**6:
            raise ValueError("PisaSystem names terms with 6 digits")
        self.path = self.scratch / "pisa"
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        with _capture_fd(2), _capture_fd(1):  # PISA prints a progress line per percent
            self._write_collection(docs, self.path)
            index = self.pp.PisaIndex(str(self.path), stemmer="none", stops="none", threads=self.threads)
            self.retriever = index.quantized(num_results=self.k)  # compresses and builds the block-max data
        self.ctx = self.retriever._ctxt
        self._out = [np.empty(self.k * self.n_queries, t) for t in (np.int32, object, np.int32, np.float32)]

    def _retrieve(self, inputs: list, threads: int) -> tuple[np.ndarray, np.ndarray, int]:
        qidx, docnos, ranks, scores = self._out
        size = self.pp._pisathon.retrieve(
            self.ctx, self.params["algorithm"], inputs, k=self.k, threads=threads, query_weighted=1,
            pretokenised=True, result_qidxs=qidx, result_docnos=docnos, result_ranks=ranks, result_scores=scores,
        )
        return qidx, docnos, size

    def search_one(self, i: int) -> object:
        return self._retrieve([self.q_inputs[i]], 1)

    def search_batch(self, rows: slice, threads: int) -> np.ndarray:
        idx = range(*rows.indices(self.n_queries))
        qidx, docnos, size = self._retrieve([(j, self.q_inputs[i][1]) for j, i in enumerate(idx)], threads)
        out = np.full((len(idx), self.k), -1, np.int64)
        ranks = self._out[2]
        for q, d, r in zip(qidx[:size].tolist(), docnos[:size].tolist(), ranks[:size].tolist()):
            out[q, r] = int(d)
        return out

    def size_bytes(self) -> int:
        """The compressed lists, block-max data and both lexicons: what a search reads (not the raw collection)."""
        keep = [f for f in self.path.iterdir() if f.name.startswith("quantized") or f.name.endswith("lex")]
        return sum(f.stat().st_size for f in keep)

    def release(self) -> None:
        self.retriever = self.ctx = None
        shutil.rmtree(self.path, ignore_errors=True)


# ------------------------------------------------------------------- laconic
class LaconicSystem(System):
    """``laconic.index.SparseIndex``, exact or approximate, saved to disk and reopened memory-mapped."""

    name = "laconic"

    def __init__(self, queries: SparseVectors, k: int, scratch: Path, reorder: str = "seeds") -> None:
        super().__init__(queries, k)
        from laconic.index import BuildConfig, SearchParams, SparseIndex  # lazy: the benchmark runs without it

        self.SparseIndex, self.SearchParams = SparseIndex, SearchParams
        self.config = BuildConfig(reorder=reorder)
        self.scratch = scratch
        self.q_rows = [queries[i] for i in range(self.n_queries)]
        self.mode, self.search_params, self.threads = "exact", None, 1

    def set_threads(self, threads: int) -> None:
        import numba

        numba.set_num_threads(threads)
        self.threads = threads

    def build(self, docs: SparseVectors) -> None:
        self.index = self.SparseIndex.build(docs, ids=[str(i) for i in range(len(docs))], config=self.config,
                                            show_progress=False, workers=self.threads)

    def save_and_reopen(self, storage: str = "blocks") -> None:
        """Save in ``storage`` (``BuildConfig.storage``; bytes on disk) and reopen, as a served index is used:
        block segments memory-mapped, compact ones searched in place."""
        path = self.scratch / f"laconic-{storage}.idx"
        self.index.save(path, storage=storage)
        self._disk = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
        self.index = self.SparseIndex.open(path)

    def configure(self, mode: str = "approximate", **params) -> None:
        self.mode = mode
        self.search_params = self.SearchParams(**params) if params else None
        self.params = params

    def size_bytes(self) -> int:
        if not hasattr(self, "_disk"):
            self.save_and_reopen()
        return self._disk

    def search_one(self, i: int) -> object:
        return self.index.search(self.q_rows[i], k=self.k, mode=self.mode, params=self.search_params, threads=1)

    def search_batch(self, rows: slice, threads: int) -> np.ndarray:
        res = self.index.search(self.queries[rows], k=self.k, mode=self.mode, params=self.search_params,
                                threads=threads)
        return _pad([[int(d) for d in ids] for ids in res.ids], self.k)

    def release(self) -> None:
        self.index = None
