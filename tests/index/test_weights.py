"""Stored weights (format version 2's pair-relative codes) against float brute force, and version-1 indexes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from index_oracle import assert_matches_oracle, oracle, pair_pointers, put_array, zipf_topic_vectors

from laconic.errors import IndexCorruptError
from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors


def _heavy_tailed(vectors: SparseVectors, seed: int) -> SparseVectors:
    """Same terms, weights log-normal(-0.5, 0.8): a max/median ratio of ~50, where one global
    linear 8-bit scale (format version 1) kept recall@10 at 0.96."""
    values = np.random.default_rng(seed).lognormal(-0.5, 0.8, vectors.nnz).astype(np.float32)
    return SparseVectors(vectors.indptr, vectors.indices, values, vectors.vocab_size, vectors.ids)


def _float_top_k(queries: SparseVectors, docs: SparseVectors, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = (queries.to_scipy().astype(np.float64) @ docs.to_scipy().T.astype(np.float64)).toarray()
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return scores, top


@pytest.mark.parametrize("bits", [8, 16])
def test_heavy_tailed_weights_keep_recall_against_float_brute_force(realistic, bits):
    docs, queries = realistic
    docs = _heavy_tailed(docs, 5)
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits))
    k = 10
    scores, _ = _float_top_k(queries, docs, k)
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    got = index.search(queries, k=k)
    row = {d: i for i, d in enumerate(docs.ids)}
    hits = [
        sum(scores[q, row[d]] >= kth[q] * (1 - 1e-6) for d in ids)  # a tie with the k-th counts as a hit
        for q, ids in enumerate(got.ids)
    ]
    recall = np.sum(hits) / (k * len(queries))
    assert recall >= (0.995 if bits == 8 else 0.999), recall


@pytest.mark.parametrize("bits", [8, 16])
def test_every_weight_is_kept_with_small_error(realistic, bits):
    docs, _ = realistic
    docs = _heavy_tailed(docs, 6)
    stored = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits)).vectors()
    np.testing.assert_array_equal(stored.indptr, docs.indptr)  # no small weight is rounded away
    np.testing.assert_array_equal(stored.indices, docs.indices)
    # each weight is coded relative to its (term, block) bound, itself <= 1.03 x the pair's largest
    # weight <= the term's largest weight: half a code step of that, at most
    term_max = np.zeros(docs.vocab_size, np.float32)
    np.maximum.at(term_max, docs.indices, docs.values)
    step = 1.03 * term_max[docs.indices] / ((1 << bits) - 1)
    assert np.all(np.abs(stored.values - docs.values) <= step / 2 + 1e-7)


def _rewrite_as_version3(path) -> dict:
    """Turn a saved version-4 index of block segments into what version 3 wrote: the same arrays,
    and no ``layout`` in the segments' header entries."""
    header = json.loads((path / "header.json").read_text())
    assert header["version"] == 4 and all(meta.pop("layout") == "blocks" for meta in header["segments"])
    del header["config"]["storage"]
    header["version"] = 3
    (path / "header.json").write_text(json.dumps(header))
    return header


def _rewrite_as_version2(path) -> dict:
    """Turn a saved version-4 index into what laconic wrote before version 3, independently of its
    code: one u32 pointer per pair (``pair_ptr.npy``) instead of 16-bit offsets and anchors."""
    header = _rewrite_as_version3(path)
    for meta in header["segments"]:
        seg = path / meta["name"]
        ptr = pair_pointers(np.load(seg / "pair_off.npy"), np.load(seg / "pair_base.npy"))
        put_array(path, header, f"{meta['name']}/pair_ptr.npy", ptr.astype(np.uint32))
        for name in ("pair_off", "pair_base"):
            (seg / f"{name}.npy").unlink()
            del header["files"][f"{meta['name']}/{name}.npy"]
    header["version"] = 2
    (path / "header.json").write_text(json.dumps(header))
    return header


@pytest.mark.parametrize("version", [2, 3])
def test_older_index_opens_searches_the_same_and_saves_as_version4(tmp_path, realistic, version):
    docs, queries = realistic
    built = SparseIndex.build(docs, config=BuildConfig(weight_bits=8, shards=2))
    built.save(tmp_path / "v2")
    (_rewrite_as_version2 if version == 2 else _rewrite_as_version3)(tmp_path / "v2")
    opened = SparseIndex.open(tmp_path / "v2", verify=True)
    for mode in ("exact", "approximate"):
        a, b = built.search(queries, k=10, mode=mode), opened.search(queries, k=10, mode=mode)
        assert a.ids == b.ids and all(np.array_equal(x, y) for x, y in zip(a.scores, b.scores))
    opened.save(tmp_path / "v3")
    assert json.loads((tmp_path / "v3" / "header.json").read_text())["version"] == 4
    again = SparseIndex.open(tmp_path / "v3", verify=True)
    a, b = built.search(queries, k=10), again.search(queries, k=10)
    assert a.ids == b.ids and all(np.array_equal(x, y) for x, y in zip(a.scores, b.scores))


def test_version2_pointer_array_of_the_wrong_length_is_refused(tmp_path, realistic):
    docs, _ = realistic
    SparseIndex.build(docs).save(tmp_path / "v2")
    header = _rewrite_as_version2(tmp_path / "v2")
    ptr = np.load(tmp_path / "v2" / "seg-0000" / "pair_ptr.npy")
    put_array(tmp_path / "v2", header, "seg-0000/pair_ptr.npy", ptr[:-1])
    (tmp_path / "v2" / "header.json").write_text(json.dumps(header))
    with pytest.raises(IndexCorruptError, match=r"pair_ptr\.npy.*pointers for"):
        SparseIndex.open(tmp_path / "v2")


def _rewrite_as_version1(path, bits: int) -> np.ndarray:
    """Turn a saved 32-bit version-3 index into what laconic 1.x wrote, independently of its code:
    one linear scale per segment, ``term_max = ceil(max code x ub_mult)``, no levels/units files.
    Returns the float weights the version-1 index stores, per segment position (CSR values order)."""
    header = _rewrite_as_version2(path)
    assert len(header["segments"]) == 1
    seg = path / "seg-0000"
    w = np.load(seg / "post_w.npy")
    pair_ptr = np.load(seg / "pair_ptr.npy").astype(np.int64)
    top = float(w.max())
    bound_scale = top / 255.0
    if bits == 8:
        scale, ub_mult = bound_scale, 1.0
        codes = np.clip(np.floor(w / scale + 0.5), 1, 255).astype(np.uint8)
    else:
        scale, ub_mult = 1.0, 255.0 / top
        codes = w
    pair_max = np.maximum.reduceat(codes.astype(np.float64), pair_ptr[:-1])
    term_max = np.clip(np.ceil(pair_max * ub_mult * (1 + 1e-6)), 1, 255).astype(np.uint8)
    for name, arr in (("post_w", codes), ("term_max", term_max)):
        put_array(path, header, f"seg-0000/{name}.npy", arr)
    for name in ("levels", "units"):
        (seg / f"{name}.npy").unlink()
        del header["files"][f"seg-0000/{name}.npy"]
    header["version"] = 1
    header["config"]["weight_bits"] = bits
    header["segments"][0].update(weight_bits=bits, scale=scale, bound_scale=bound_scale, ub_mult=ub_mult)
    (path / "header.json").write_text(json.dumps(header))
    return codes.astype(np.float32) * np.float32(scale)


@pytest.mark.parametrize("bits", [8, 32])
def test_version1_index_opens_and_searches_exactly(tmp_path, realistic, bits):
    docs, queries = realistic
    path = tmp_path / "v1"
    SparseIndex.build(docs, config=BuildConfig(weight_bits=32)).save(path)
    expected = _rewrite_as_version1(path, bits)
    opened = SparseIndex.open(path, verify=True)
    stored = opened.vectors()
    assert np.isclose(np.sort(stored.values), np.sort(expected), rtol=1e-6).all()
    assert_matches_oracle(opened.search(queries, k=10), *oracle(opened, queries, 10))
    opened.save(tmp_path / "v3")  # saving writes version 4, same results
    again = SparseIndex.open(tmp_path / "v3")
    assert json.loads((tmp_path / "v3" / "header.json").read_text())["version"] == 4
    a, b = opened.search(queries, k=10), again.search(queries, k=10)
    assert a.ids == b.ids and all(np.array_equal(x, y) for x, y in zip(a.scores, b.scores))


def test_zipf_helper_is_heavy_tailed_enough_to_matter():
    """Guard on the first test's premise: one global linear 8-bit scale loses recall on these weights."""
    docs = _heavy_tailed(zipf_topic_vectors(3000, 2000, 60, seed=1), 5)
    queries = zipf_topic_vectors(60, 2000, 15, seed=2)
    top = float(docs.values.max())
    linear = np.floor(docs.values / (top / 255) + 0.5) * (top / 255)
    coarse = SparseVectors(docs.indptr, docs.indices, linear.astype(np.float32), docs.vocab_size)
    scores, _ = _float_top_k(queries, docs, 10)
    _, got = _float_top_k(queries, coarse, 10)
    kth = -np.partition(-scores, 9, axis=1)[:, 9]
    recall = np.mean(np.take_along_axis(scores, got, axis=1) >= kth[:, None] * (1 - 1e-6))
    assert recall < 0.99, recall
