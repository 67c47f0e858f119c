"""From ``SparseVectors`` to segments: validate, cluster, shard, lay out (and encode the weights)."""

from __future__ import annotations

import math

import numba
import numpy as np

from laconic.index import kernels as K
from laconic.index.bisection import bisection_order
from laconic.index.config import BuildConfig
from laconic.index.segment import Quantiser, Segment
from laconic.sparse import SparseVectors


def check_weights(vectors: SparseVectors) -> None:
    """Reject NaN/inf and negative weights with the first offending vector and term."""
    values = vectors.values
    bad = ~np.isfinite(values)
    what = "non-finite"
    if not bad.any():
        bad = values < 0
        what = "negative"
    if bad.any():
        e = int(np.argmax(bad))
        row = int(np.searchsorted(vectors.indptr, e, side="right") - 1)
        name = vectors.ids[row] if vectors.ids is not None else str(row)
        raise ValueError(
            f"{what} weight {float(values[e])} in vector {row} (id {name!r}), term {int(vectors.indices[e])}: "
            "document weights must be finite and >= 0"
        )


SEED_DOCS = 256  # documents per seed (cluster) in "seeds" clustering
SEED_TERMS = 16  # heaviest terms per document used to compare it with the seeds


def cluster_order(
    indptr: np.ndarray, indices: np.ndarray, codes: np.ndarray, how: str, block_size: int = 64, workers: int = 1,
    show_progress: bool = False,
) -> np.ndarray:
    """Row order in which documents are laid out (similar documents adjacent).

    ``"bp"`` refines the ``"seeds"`` order by recursive graph bisection down to
    single blocks (``laconic.index.bisection``).
    """
    n = indptr.size - 1
    if how == "none" or n == 0:
        return np.arange(n, dtype=np.int64)
    first, second = K.heaviest_terms(indptr, indices, codes)
    if how == "terms":
        return np.lexsort((second, first)).astype(np.int64)  # stable: ties keep insertion order
    n_seeds = max(1, n // SEED_DOCS)
    seeds = np.sort(np.random.default_rng(0).choice(n, n_seeds, replace=False)).astype(np.int64)
    vocab = int(indices.max()) + 1 if indices.size else 1
    assign = K.assign_to_seeds(indptr, indices, codes, seeds, SEED_TERMS, vocab)
    order = np.lexsort((second, first, assign)).astype(np.int64)
    if how == "bp":
        order = bisection_order(indptr, indices, order, vocab, block_size, workers, show_progress=show_progress,
                                codes=codes)
    return order


MAX_SEGMENT_POSTINGS = 2**31  # bounds one segment's build memory (~10 bytes per posting in flight)


def shard_bounds(n: int, config: BuildConfig, nnz: int = 0) -> list[tuple[int, int]]:
    """Split ``n`` laid-out documents into contiguous, block-aligned segments."""
    if n == 0:
        return [(0, 0)]
    count = max(config.shards, math.ceil(n / config.segment_docs), math.ceil(nnz / MAX_SEGMENT_POSTINGS))
    blocks = math.ceil(n / config.block_size)
    count = min(count, blocks)
    per = math.ceil(blocks / count) * config.block_size
    return [(a, min(a + per, n)) for a in range(0, n, per)]


def build_segments(
    vectors: SparseVectors,
    config: BuildConfig,
    first_order: int,
    show_progress: bool = False,
    orders: np.ndarray | None = None,
    workers: int | None = None,
) -> list[Segment]:
    """Segments holding ``vectors``; vector ``i`` gets global order ``first_order + i`` (or ``orders[i]``).

    ``workers`` threads lay out each segment (default: numba's thread count, all cores).
    """
    from tqdm.auto import tqdm

    check_weights(vectors)
    # one bar over the whole build: 2 steps (drop zeros, cluster) + 1 per segment; the kernels are opaque
    bar = tqdm(total=3, desc="index build", unit="step", disable=not show_progress)
    indptr, indices, values = K.drop_zeros(vectors.indptr, vectors.indices, np.ascontiguousarray(vectors.values, np.float32))
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    quant = Quantiser.fit(config.weight_bits, low, high)
    bar.update(1)
    rows = cluster_order(indptr, indices, values, config.reorder, config.block_size,
                         workers or numba.config.NUMBA_NUM_THREADS, show_progress)
    bar.update(1)
    bounds = shard_bounds(len(vectors), config, int(indices.size))
    bar.total = 2 + len(bounds)
    bar.refresh()
    segments = []
    global_order = np.arange(first_order, first_order + len(vectors)) if orders is None else np.asarray(orders, np.int64)
    for a, b in bounds:
        part = rows[a:b]
        segments.append(
            Segment.build(indptr, indices, values, part, global_order[part], vectors.vocab_size, config.block_size, quant,
                          workers or numba.config.NUMBA_NUM_THREADS)
        )
        bar.update(1)
    bar.close()
    return segments
