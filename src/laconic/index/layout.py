"""Lay out one segment on several threads: a parallel counting sort by (term, position).

The kernels (``kernels/build.py``) each take a range of positions or of terms and
release the GIL; this module cuts the ranges and runs them on a thread pool:

1. count each row range's postings per term (one count array per range);
2. scatter each row range into its own slice of every term's postings (range
   ``c`` starts term ``t`` after the postings of ``t`` in ranges ``< c``, so
   positions stay sorted within a term, as a one-thread scatter leaves them);
3. count (term, block) pairs per term range, prefix-sum them into ``term_ptr``;
4. bound, encode and write the pairs of each term range.

Ranges are balanced by postings, not by rows or terms (term frequencies are
Zipf-shaped). The result is byte-identical whatever the thread count.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from laconic.index import kernels as K
from laconic.index.kernels.pairs import n_anchors, set_pair_start


def balanced_cuts(cumulative: np.ndarray, parts: int) -> np.ndarray:
    """``parts + 1`` cut points into ``range(len(cumulative))`` with about equal mass each.

    ``cumulative[i]`` is the mass of items ``[0, i]``.
    """
    n = cumulative.size
    if n == 0:
        return np.zeros(2, np.int64)
    total = cumulative[-1]
    targets = total * np.arange(1, parts, dtype=np.float64) / parts
    inner = np.searchsorted(cumulative, targets, side="left") + 1
    return np.unique(np.concatenate([[0], np.minimum(inner, n), [n]])).astype(np.int64)


def _run(pool: ThreadPoolExecutor | None, fn: Callable[..., None], calls: list[tuple]) -> None:
    if pool is None:
        for args in calls:
            fn(*args)
        return
    for f in [pool.submit(fn, *args) for args in calls]:
        f.result()


def lay_out(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    rows: np.ndarray,
    vocab_size: int,
    block_size: int,
    levels: np.ndarray,
    units: np.ndarray,
    max_code: int,
    post_dtype: np.dtype,
    workers: int = 1,
) -> tuple[np.ndarray, ...]:
    """``(term_ptr, term_blocks, term_max, pair_off, pair_base, post_doc, post_w)`` of CSR ``rows``
    (docs/index-format.md)."""
    n = rows.size
    row_nnz = (indptr[rows + 1] - indptr[rows]) if n else np.zeros(0, np.int64)
    row_cuts = balanced_cuts(np.cumsum(row_nnz), max(1, workers))
    ranges = list(zip(row_cuts[:-1].tolist(), row_cuts[1:].tolist()))
    pool = ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="laconic-build") if len(ranges) > 1 else None
    try:
        dfs = np.zeros((len(ranges), vocab_size), np.int64)
        _run(pool, K.count_terms, [(indptr, indices, rows, lo, hi, dfs[c]) for c, (lo, hi) in enumerate(ranges)])
        start = np.zeros(vocab_size + 1, np.int64)
        np.cumsum(dfs.sum(axis=0), out=start[1:])
        fills = start[:-1] + np.cumsum(dfs, axis=0) - dfs  # range c's first slot for each term
        nnz = int(start[-1])
        pos_of = np.empty(nnz, np.int32)
        weight = np.empty(nnz, np.float32)
        _run(pool, K.scatter_postings,
             [(indptr, indices, values, rows, lo, hi, fills[c], pos_of, weight) for c, (lo, hi) in enumerate(ranges)])
        del dfs, fills

        term_cuts = balanced_cuts(start[1:], len(ranges))
        terms = list(zip(term_cuts[:-1].tolist(), term_cuts[1:].tolist()))
        pairs = np.zeros(vocab_size + 1, np.int64)
        _run(pool, K.count_pairs, [(start, pos_of, block_size, t0, t1, pairs) for t0, t1 in terms])
        term_ptr = np.cumsum(pairs)
        npairs = int(term_ptr[-1])
        term_blocks = np.empty(npairs, np.uint16)
        term_max = np.empty(npairs, np.uint8)
        pair_off = np.empty(npairs + 1, np.uint16)
        pair_base = np.empty(n_anchors(npairs), np.int64)
        post_doc = np.empty(nnz, np.uint8)
        post_w = np.empty(nnz, post_dtype)
        _run(pool, K.write_pairs, [
            (start, pos_of, weight, block_size, t0, t1, term_ptr, levels, units, max_code,
             term_blocks, term_max, pair_off, pair_base, post_doc, post_w)
            for t0, t1 in terms
        ])
        set_pair_start(pair_off, pair_base, npairs, nnz)  # the end sentinel
    finally:
        if pool is not None:
            pool.shutdown()
    return term_ptr, term_blocks, term_max, pair_off, pair_base, post_doc, post_w
