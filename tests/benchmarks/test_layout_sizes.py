"""benchmarks/layout_sizes.py: layout F's byte count and the dequantized weights behind its recall check.

Oracles come from the documents themselves, laid out in the index's document
order: each term's distinct blocks and their posting counts, walked in plain
Python; and the float weights, which both decodings must stay close to.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    sys.path.insert(0, str(BENCH))
    try:
        import layout_sizes

        from laconic.index import BuildConfig, SparseIndex

        docs, _ = layout_sizes.load_or_generate(tmp_path_factory.mktemp("layout"), 3000, 10,
                                                cfg=layout_sizes.WORKLOADS["easy"], show_progress=False)
        # blocks of 8: 375 blocks, so some gaps reach 128 and some terms pass 64 pairs (F's escapes and anchors)
        index = SparseIndex.build(docs, config=BuildConfig(block_size=8), show_progress=False)
        yield layout_sizes, docs, index
    finally:
        sys.path.remove(str(BENCH))


def _pairs(docs, seg):
    """{term: [(block, postings, largest weight), ...]} by increasing block, from the documents in index order."""
    order = np.asarray(seg.arrays["doc_order"])
    csr = docs.to_scipy().tocsr()[order]
    blocks = np.repeat(np.arange(csr.shape[0]) // seg.block_size, np.diff(csr.indptr))
    out: dict[int, dict[int, list]] = {}
    for t, b, w in zip(csr.indices.tolist(), blocks.tolist(), csr.data.tolist()):
        cell = out.setdefault(t, {}).setdefault(b, [0, 0.0])
        cell[0] += 1
        cell[1] = max(cell[1], w)
    return {t: [(b, n, m) for b, (n, m) in sorted(v.items())] for t, v in out.items()}


def test_layout_f_bytes_match_a_walk_over_the_documents(built):
    module, docs, index = built
    (seg,) = index._snap.segments
    entries = multi_postings = anchors = 0
    for pairs in _pairs(docs, seg).values():
        prev = -1
        for b, n, _ in pairs:
            entries += 1 + (b - prev >= 128)  # a long gap costs an extra (jump) entry
            multi_postings += n if n > 1 else 0
            prev = b
        anchors += max(0, math.ceil(len(pairs) / module.F_ANCHOR) - 1)
    n_terms = seg.arrays["term_ptr"].size
    want = 3 * entries + 2 * multi_postings + 8 * n_terms - np.asarray(seg.arrays["pair_base"]).nbytes + 6 * anchors
    got = module.segment_counts(seg, seg.block_size)
    assert got["f_bytes"] == want
    # the fixture really exercises escapes and anchors
    assert anchors > 0 and entries > got["pairs"]


def test_dequantized_weights_stay_near_the_float_ones(built):
    """Codes are relative to the pair's bound, one level step (2.8%) above the pair's largest weight at most.

    v3 is off by at most half a code, bound / 510; F's one-posting pairs add the
    distance to the middle of a quarter step, bound x 0.028 / 8. Pairs whose
    largest weight is under 1% of the collection's are left out: the lowest
    level spans everything below max / 1000, so its step is not 2.8%.
    """
    module, docs, index = built
    (seg,) = index._snap.segments
    truth = docs.to_scipy().tocsr()
    pairs = {(t, b): (n, m) for t, ps in _pairs(docs, seg).items() for b, n, m in ps}
    order = np.asarray(seg.arrays["doc_order"])
    position = np.empty(order.size, np.int64)
    position[order] = np.arange(order.size)
    v3 = None
    for fused in (False, True):
        rows, cols, w = module.dequantized(seg, seg.block_size, fused)
        assert len(rows) == truth.nnz
        want = np.asarray(truth[rows, cols]).ravel()
        assert (want > 0).all()  # every stored posting is a real (document, term) pair, each once
        assert len(set(zip(rows.tolist(), cols.tolist()))) == truth.nnz
        info = np.array([pairs[(c, position[r] // seg.block_size)] for r, c in zip(rows.tolist(), cols.tolist())])
        single, bound = info[:, 0] == 1, info[:, 1] * 1.028
        tol = bound / 510 + (single * bound * 0.028 / 8 if fused else 0)
        big = info[:, 1] >= 0.01 * truth.data.max()
        assert (np.abs(w - want)[big] <= tol[big] * 1.001 + 1e-7).all()
        if fused:  # only one-posting pairs change
            assert np.array_equal(w[~single], v3[~single])
            assert not np.array_equal(w[single], v3[single])
        v3 = w
