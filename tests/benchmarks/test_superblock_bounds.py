"""benchmarks/superblock_bounds.py counts what a coarser bound level would skip: checked by brute force.

The oracle recomputes each superblock's bound the slow way (per query term, the
largest bound among its pairs in the superblock, summed over terms) and counts
kept superblocks and the block pairs inside them pair by pair.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def module():
    sys.path.insert(0, str(BENCH))
    try:
        import superblock_bounds

        yield superblock_bounds
    finally:
        sys.path.remove(str(BENCH))


def _superblock_bounds(ranks, blocks, bounds, n_blocks, size):
    """Each superblock's bound and the number of (term, superblock) pairs, the slow way."""
    sub = np.zeros(n_blocks // size + 1)
    sb_pairs = 0
    for r in np.unique(ranks):
        mine = ranks == r
        for s in np.unique(blocks[mine] // size):
            sub[s] += bounds[mine & (blocks // size == s)].max()
            sb_pairs += 1
    return sub, sb_pairs


@pytest.mark.parametrize("size", [1, 4, 16])
def test_counts_match_a_pair_by_pair_walk(module, size):
    rng = np.random.default_rng(size)
    n_blocks = 200
    ranks, blocks = [], []
    for r in range(12):  # each term's block ids increase, as in the index
        b = np.sort(rng.choice(n_blocks, size=int(rng.integers(1, 80)), replace=False))
        ranks.append(np.full(b.size, r))
        blocks.append(b)
    ranks, blocks = np.concatenate(ranks), np.concatenate(blocks)
    bounds = rng.random(blocks.size)
    sub, sb_pairs = _superblock_bounds(ranks, blocks, bounds, n_blocks, size)
    theta = float(np.median(sub[sub > 0]))  # keeps some superblocks, not all
    kept = sub >= theta
    want = (sb_pairs, int(kept.sum()), sum(int(kept[b // size]) for b in blocks))
    assert module.superblock_counts(ranks, blocks, bounds, n_blocks, size, theta) == want
    assert 0 < want[1] < (sub > 0).sum()


def test_query_pairs_reads_each_query_terms_pairs(module):
    from laconic.index import SparseIndex
    from laconic.sparse import SparseVectors

    rng = np.random.default_rng(0)
    dense = (rng.random((300, 40)) < 0.2) * rng.random((300, 40)).astype(np.float32)
    docs = SparseVectors.from_dense(dense)
    index = SparseIndex.build(docs, show_progress=False)
    (seg,) = index._snap.segments
    terms = np.array([3, 7, 39, 0])
    weights = np.array([1.0, 0.5, 2.0, 0.0])  # a zero weight drops the term
    ranks, blocks, bounds = module.query_pairs(seg, terms, weights)
    order = np.asarray(seg.arrays["doc_order"])
    by_block = np.argsort(order) // seg.block_size  # block of each document (doc_order[position] = document)
    for r, (t, w) in enumerate(zip(terms, weights)):
        want = np.unique(by_block[dense[:, t] > 0]) if w > 0 else np.zeros(0, np.int64)
        assert np.array_equal(blocks[ranks == r], want)
        # a pair's bound is the query weight times a level at or above its largest weight
        for b, v in zip(blocks[ranks == r], bounds[ranks == r]):
            assert v >= w * dense[by_block == b, t].max() * (1 - 1e-6)
