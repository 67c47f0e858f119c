"""The segment layout: a hand-worked example, and the thread count changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from index_oracle import assert_matches_oracle, brute_force, pair_pointers, zipf_topic_vectors

from laconic.index import BuildConfig, SparseIndex
from laconic.index.builder import build_segments
from laconic.index.layout import balanced_cuts
from laconic.sparse import SparseVectors


def test_layout_of_a_hand_worked_example():
    # 4 documents, blocks of 2: block 0 = d0 d1, block 1 = d2 d3
    docs = SparseVectors.from_dicts([{0: 1.0, 2: 0.5}, {0: 2.0}, {1: 3.0}, {0: 0.25, 1: 1.0}], vocab_size=3)
    config = BuildConfig(block_size=2, weight_bits=32, reorder="none")
    for workers in (1, 2, 4):
        (seg,) = build_segments(docs, config, 0, workers=workers)
        a = {name: np.asarray(arr) for name, arr in seg.arrays.items()}
        # term 0 is in both blocks, term 1 in block 1, term 2 in block 0
        np.testing.assert_array_equal(a["term_ptr"], [0, 2, 3, 4])
        np.testing.assert_array_equal(a["term_blocks"], [0, 1, 1, 0])
        # pair pointers [0, 2, 3, 5, 6]: below 2^16, so the low bits are the pointers; one anchor
        np.testing.assert_array_equal(a["pair_off"], [0, 2, 3, 5, 6])
        np.testing.assert_array_equal(a["pair_base"], [0])
        np.testing.assert_array_equal(a["post_doc"], [0, 1, 1, 0, 1, 0])
        np.testing.assert_array_equal(a["post_w"], np.float32([1.0, 2.0, 0.25, 3.0, 1.0, 0.5]))


def test_pair_pointers_past_16_bits_decode_from_their_anchors():
    # term 0 in all 76,800 documents (600 full blocks of 128 postings: pointers pass 2^16 at pair 512),
    # term 1 in every 7th document: its pairs hold 18-19 postings each
    n, block = 76_800, 128
    rows = [{0: 1.0 + (d % 5), **({1: 0.5 + (d % 3)} if d % 7 == 0 else {})} for d in range(n)]
    docs = SparseVectors.from_dicts(rows, vocab_size=2, ids=[f"d{d}" for d in range(n)])
    config = BuildConfig(block_size=block, weight_bits=32, reorder="none")
    for workers in (1, 3):
        (seg,) = build_segments(docs, config, 0, workers=workers)
        a = {name: np.asarray(arr) for name, arr in seg.arrays.items()}
        ptr = pair_pointers(a["pair_off"], a["pair_base"])
        per_block_t1 = [sum(1 for d in range(b * block, (b + 1) * block) if d % 7 == 0) for b in range(600)]
        expected = np.concatenate([[0], 128 * np.arange(1, 601), n + np.cumsum(per_block_t1)])
        np.testing.assert_array_equal(ptr, expected)
        assert a["pair_base"].size == 1200 // 256 + 1 and a["pair_base"][2] == 65_536
    index = SparseIndex.build(docs, config=config)
    queries = SparseVectors.from_dicts([{0: 1.0}, {1: 1.0}, {0: 0.3, 1: 2.0}], vocab_size=2)
    ids, scores = brute_force(queries, docs, 10)
    assert_matches_oracle(index.search(queries, k=10, mode="exact"), ids, scores)


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_thread_count_gives_the_same_bytes(bits):
    docs = zipf_topic_vectors(1500, 700, 40, seed=bits)
    config = BuildConfig(weight_bits=bits, block_size=16)
    reference = [np.asarray(x) for s in build_segments(docs, config, 0, workers=1) for x in s.arrays.values()]
    for workers in (2, 3, 8):
        got = [np.asarray(x) for s in build_segments(docs, config, 0, workers=workers) for x in s.arrays.values()]
        assert len(got) == len(reference)
        for x, y in zip(got, reference):
            np.testing.assert_array_equal(x, y)


def test_threaded_float_build_searches_like_brute_force():
    docs = zipf_topic_vectors(2000, 900, 60, seed=3)
    queries = zipf_topic_vectors(20, 900, 30, seed=4)
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=32, shards=3), workers=3)
    ids, scores = brute_force(queries, docs, 10)
    assert_matches_oracle(index.search(queries, k=10, mode="exact"), ids, scores)


@pytest.mark.parametrize(("masses", "parts"), [([5, 0, 0, 5, 5, 1], 3), ([1] * 10, 4), ([100, 1, 1, 1], 2), ([3], 4)])
def test_balanced_cuts_cover_everything_in_order(masses, parts):
    cuts = balanced_cuts(np.cumsum(masses), parts)
    assert cuts[0] == 0 and cuts[-1] == len(masses)
    assert np.all(np.diff(cuts) > 0)
    assert len(cuts) - 1 <= parts
    sums = [sum(masses[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    assert max(sums) <= sum(masses) / parts + max(masses)
