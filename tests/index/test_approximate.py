"""Approximate mode: default knobs keep recall@10 >= 0.99; knobs trade recall for work."""

from __future__ import annotations

import numpy as np
import pytest
from index_oracle import oracle, pair_pointers

from laconic.index import SearchParams, SparseIndex
from laconic.index import kernels as K
from laconic.index.kernels import approximate as approx_kernel
from laconic.index.kernels import blocks as blocks_kernel
from laconic.index.kernels.topk_heap import heap_sort_desc


def _recall(got, want):
    return float(np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(got, want)]))


def test_default_params_reach_recall(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    want, _ = oracle(index, queries, 10)
    r = index.search(queries, k=10, mode="approximate")
    assert _recall(r.ids, want) >= 0.99
    single = index.search(queries[0], k=10, mode="approximate")
    assert single.ids[0] == r.ids[0]


def test_scores_returned_are_exact_dot_products(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    dense = (queries.to_scipy() @ index.vectors().to_scipy().T).toarray()
    lookup = {d: j for j, d in enumerate(index.vectors().ids)}
    r = index.search(queries, k=10, mode="approximate", params=SearchParams(alpha=0.5, query_cut=3))
    for i in range(len(queries)):
        np.testing.assert_allclose(r.scores[i], dense[i, [lookup[d] for d in r.ids[i]]], rtol=1e-5)


def test_aggressive_knobs_lose_recall_gracefully(realistic):
    docs, queries = realistic
    index = SparseIndex.build(docs)
    want, _ = oracle(index, queries, 10)
    safe = index.search(queries, k=10, mode="approximate", params=SearchParams(alpha=1.0, query_cut=0))
    assert _recall(safe.ids, want) == 1.0
    capped = index.search(queries, k=10, mode="approximate", params=SearchParams(max_blocks=1))
    assert 0.0 < _recall(capped.ids, want) < 1.0


def _capped_top_k(index, q_t, q_w, k, alpha, cap, list_gain, monkeypatch):
    """search_approximate run as plain Python with the forward-list threshold ``list_gain`` (so either
    scoring path can be forced), sorted best first."""
    monkeypatch.setattr(approx_kernel, "LIST_GAIN", list_gain)
    seg = index._snap.segments[0]
    hs = np.zeros(k, np.float32)
    ho = np.full(k, -1, np.int64)
    deleted = np.zeros(seg.n_docs, np.bool_)
    scratch = K.make_scratch(seg.n_docs, seg.block_size)
    size = approx_kernel.search_approximate.py_func(
        q_t, q_w, seg.seg, seg.block_size, deleted, k, hs, ho, 0, scratch, alpha, cap, False
    )
    heap_sort_desc(hs, ho, size)
    return ho[:size].tolist(), hs[:size].tolist()


def _count_paths(monkeypatch):
    """Wrap the two block scorers' entry points: counts blocks scored by binary search after lists were filed."""
    seen = {"listed": False, "late_binary": 0}
    fill, score = approx_kernel.fill_lists, approx_kernel.score_block

    def filed(*args):
        seen["listed"] = True
        return fill(*args)

    def searched(*args):
        seen["late_binary"] += seen["listed"]
        return score(*args)

    monkeypatch.setattr(approx_kernel, "fill_lists", filed)
    monkeypatch.setattr(approx_kernel, "score_block", searched)
    return seen


def _coarse_buckets(monkeypatch, n_buckets=2):
    """Rank blocks into a few bound buckets (2,048 in the kernels). Within a bucket blocks are visited in
    block order, so a filed block can fall below the k-th score while a later, unfiled one of the same
    bucket still beats it: the case the binary-search fallback exists for, which 2,048 buckets make rare."""
    monkeypatch.setattr(blocks_kernel, "N_BUCKETS", n_buckets)
    monkeypatch.setattr(approx_kernel, "N_BUCKETS", n_buckets)
    monkeypatch.setattr(approx_kernel, "bucket_order", blocks_kernel.bucket_order.py_func)


@pytest.mark.parametrize("alpha", [1.0, 0.8])
@pytest.mark.parametrize("coarse", [False, True])
def test_forward_lists_and_binary_search_score_the_same_blocks_under_a_cap(realistic, alpha, coarse, monkeypatch):
    """Under a block cap only the blocks the cap leaves room for get forward lists; a block that qualifies
    later (once filed ones fell below the k-th score) is scored by binary search. Either way the same
    blocks get the same sums, so forcing lists after the warm-up and forcing binary searches throughout
    must give identical hits and bit-identical scores, capped or not."""
    docs, queries = realistic
    index = SparseIndex.build(docs)
    assert len(index._snap.segments) == 1 and index._snap.segments[0].n_docs // 64 > 40
    if coarse:
        _coarse_buckets(monkeypatch)
    seen = _count_paths(monkeypatch)
    binding = late = 0
    for k, cap in ((1, 12), (1, 16), (10, 12), (10, 30), (10, 0)):
        for i in range(len(queries)):
            q_t, q_w = queries.row(i)
            seen["listed"], before = False, seen["late_binary"]
            listed = _capped_top_k(index, q_t, q_w, k, alpha, cap, 10**9, monkeypatch)
            late += seen["late_binary"] > before
            searched = _capped_top_k(index, q_t, q_w, k, alpha, cap, 0, monkeypatch)
            assert listed == searched, (k, cap, i)
            if cap:
                binding += listed != _capped_top_k(index, q_t, q_w, k, alpha, 0, 0, monkeypatch)
    assert binding > 0  # the caps bind: capped traversals are compared, not only complete ones
    if coarse:
        assert late > 0  # the binary-search fallback after filing ran and agreed


@pytest.mark.parametrize("kept", ["three quarters", "scattered few", "first and last"])
def test_fill_lists_files_each_kept_blocks_pairs_in_query_order(realistic, kept):
    """``fill_lists`` against a plain-Python oracle over the raw arrays: every kept block's (term, block)
    pairs of the query, in query order, with posting ranges from the oracle's own decoding of the
    16-bit pointers (docs/index-format.md) and weight x unit. With three quarters of the blocks kept
    the entries outnumber the kernel's first buffer (1,024) several times: its growth is checked too.
    With few kept blocks most of the scan's chunks hold none and are skipped whole; the kept blocks
    at both ends of the block range check the chunk test's edges."""
    docs, _ = realistic
    index = SparseIndex.build(docs)
    seg = index._snap.segments[0]
    a = seg.arrays
    term_ptr, term_blocks, term_max = a["term_ptr"], a["term_blocks"], a["term_max"]
    n_pairs = np.diff(term_ptr)
    terms = np.argsort(-n_pairs, kind="stable")[:300]
    terms = np.sort(terms[n_pairs[terms] > 0]).astype(np.int32)
    rng = np.random.default_rng(3)
    q_w = rng.uniform(0.1, 2.0, terms.size).astype(np.float32)
    keep = np.zeros(seg.n_blocks, np.bool_)
    if kept == "three quarters":
        keep[rng.permutation(seg.n_blocks)[: seg.n_blocks * 3 // 4]] = True
    elif kept == "scattered few":
        assert seg.n_blocks > 40
        keep[[3, 11, 12, 29, 37]] = True
    else:
        keep[[0, seg.n_blocks - 1]] = True
    cnt = np.zeros(seg.n_blocks + 1, np.int64)
    lo, hi, w = blocks_kernel.query_terms(terms, q_w, term_ptr)
    starts, spans, weights = blocks_kernel.fill_lists(lo, hi, w, seg.seg, keep, cnt)

    ptr = pair_pointers(a["pair_off"], a["pair_base"])
    want = {b: [] for b in np.flatnonzero(keep)}
    for i, t in enumerate(terms):
        for j in range(term_ptr[t], term_ptr[t + 1]):
            b = int(term_blocks[j])
            if keep[b]:
                want[b].append((int(ptr[j]), int(ptr[j + 1]), np.float32(q_w[i] * a["units"][term_max[j]])))
    assert sum(map(len, want.values())) > (4 * 1024 if kept == "three quarters" else len(terms))
    assert not cnt.any()
    for b in range(seg.n_blocks):
        got = [(int(spans[s, 0]), int(spans[s, 1]), weights[s]) for s in range(starts[b], starts[b + 1])]
        assert got == want.get(b, []), b


def test_accumulate_bounds_equals_a_plain_sum_over_the_raw_arrays(realistic):
    """Block bounds against a plain-Python reading of the arrays, bit for bit (the kernel adds in the same
    order). Every term of the collection together, and every seventh one alone; their pair ranges start
    at every offset modulo 8 and span fewer and more than 8 pairs: the kernel reads 8 pairs at a time
    from aligned words, one at a time elsewhere."""
    docs, _ = realistic
    index = SparseIndex.build(docs)
    seg = index._snap.segments[0]
    a = seg.arrays
    term_ptr, term_blocks, term_max, levels = a["term_ptr"], a["term_blocks"], a["term_max"], a["levels"]
    terms = np.flatnonzero(np.diff(term_ptr) > 0).astype(np.int32)
    starts, lengths = term_ptr[terms] % 8, np.diff(term_ptr)[terms]
    assert set(starts) == set(range(8)) and lengths.min() < 8 < lengths.max()
    q_w = np.random.default_rng(5).uniform(0.1, 2.0, terms.size).astype(np.float32)
    for chosen in [np.arange(terms.size)] + [np.array([i]) for i in range(0, terms.size, 7)]:
        lo, hi, w = blocks_kernel.query_terms(terms[chosen], q_w[chosen], term_ptr)
        ub = np.zeros(seg.n_blocks, np.float32)
        best = blocks_kernel.accumulate_bounds(lo, hi, w, seg.seg, ub)
        want = np.zeros(seg.n_blocks, np.float32)
        for i in chosen:
            for j in range(term_ptr[terms[i]], term_ptr[terms[i] + 1]):
                want[term_blocks[j]] += np.float32(q_w[i] * levels[term_max[j]])
        assert np.array_equal(ub, want)
        assert best == want.max()
