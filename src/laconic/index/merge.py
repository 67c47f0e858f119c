"""Merge policy for segments appended by ``add``: log-structured, newest segments first.

Every ``add`` appends at least one segment; without merging, a stream of
small adds leaves thousands of tiny segments, and each costs a bounds pass
per query term. The policy here is the classic logarithmic one (as in
Lucene's LogMergePolicy): a segment's *size class* is ``floor(log_f(live
documents))``; whenever the newest ``f`` segments share a class they become one
segment of the next class, which may cascade. So at most about ``f - 1``
segments per class remain, ``O(f log N)`` in all, and each document is
rewritten ``O(log N)`` times over its life. Only a run of the newest segments
is merged, so segments keep their order, and the big segments of the first
build are left alone until enough adds reach their class.

Merging re-lays-out the live documents' stored weights with their global
orders (ids, tombstones and tie-breaking are unchanged) and drops deleted ones.
8- and 16-bit weights are re-coded against the merged segment's pairs: one
more rounding, at most half a code step of the new pair, per merge.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from laconic.index.builder import build_segments
from laconic.index.config import BuildConfig
from laconic.index.segment import Segment
from laconic.sparse import SparseVectors


def size_class(live_docs: int, factor: int) -> int:
    """``floor(log_factor(live_docs))`` (0 for empty and one-document segments)."""
    if live_docs <= 1:
        return 0
    c = int(math.log(live_docs) / math.log(factor))
    while factor ** (c + 1) <= live_docs:  # float log can land one class low
        c += 1
    while c > 0 and factor**c > live_docs:
        c -= 1
    return c


def plan_merge(live_sizes: list[int], factor: int) -> int:
    """How many of the newest segments to merge now (0: none). ``live_sizes`` oldest first."""
    if factor < 2 or len(live_sizes) < factor:
        return 0
    tail = [size_class(n, factor) for n in live_sizes[-factor:]]
    return factor if len(set(tail)) == 1 else 0


def live_sizes(segments: tuple[Segment, ...], deleted: np.ndarray) -> list[int]:
    return [int(seg.n_docs - deleted[np.asarray(seg.arrays["doc_order"])].sum()) for seg in segments]


def merge_newest(
    segments: tuple[Segment, ...], deleted: np.ndarray, config: BuildConfig, vocab_size: int
) -> tuple[Segment, ...]:
    """Apply the policy until it asks for nothing more; returns the new segment tuple."""
    factor = config.merge_factor
    segments = tuple(segments)
    while True:
        count = plan_merge(live_sizes(segments, deleted), factor)
        if not count:
            return segments
        merged = _merge(segments[-count:], deleted, config, vocab_size)
        segments = segments[:-count] + tuple(merged)
        if len(merged) != 1:  # split by the format's size limits: cannot cascade further
            return segments


def _merge(group: tuple[Segment, ...], deleted: np.ndarray, config: BuildConfig, vocab_size: int) -> list[Segment]:
    parts, orders = [], []
    for seg in group:
        order, indptr, indices, weights = seg.dequantised()
        mat = sp.csr_matrix((weights, indices, indptr), shape=(seg.n_docs, vocab_size))
        keep = ~deleted[order]
        parts.append(mat[keep])
        orders.append(order[keep])
    mat = sp.vstack(parts, format="csr")
    order = np.concatenate(orders)
    vectors = SparseVectors(mat.indptr.astype(np.int64), mat.indices.astype(np.int32), mat.data.astype(np.float32),
                            vocab_size)
    return build_segments(vectors, config, 0, orders=order)
