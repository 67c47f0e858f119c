"""Milvus (embedded milvus-lite) returns laconic's exact top-10 on the same vectors."""

from __future__ import annotations

import numpy as np
import psutil
import pytest

from laconic.integrations import MilvusSparseCollection
from laconic.sparse import SparseVectors

VOCAB = 2000


def random_vectors(n: int, nnz: int, seed: int, prefix: str) -> SparseVectors:
    """Zipf-like term choice so queries and documents share terms, as real text does."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, VOCAB + 1) ** 0.8
    p /= p.sum()
    rows = []
    for _ in range(n):
        terms = rng.choice(VOCAB, size=nnz, replace=False, p=p)
        rows.append(dict(zip(terms.tolist(), rng.uniform(0.05, 3.0, nnz).astype(np.float32).tolist())))
    return SparseVectors.from_dicts(rows, VOCAB, ids=[f"{prefix}{i}" for i in range(n)])


def exact_top_k(queries: SparseVectors, docs: SparseVectors, k: int):
    """The oracle: full dot products in float64, ties by id."""
    scores = (queries.to_scipy().astype(np.float64) @ docs.to_scipy().T.astype(np.float64)).toarray()
    out = []
    for row in scores:
        order = sorted(np.flatnonzero(row > 0).tolist(), key=lambda j: (-row[j], docs.ids[j]))[:k]
        out.append(([docs.ids[j] for j in order], row[order]))
    return out


@pytest.fixture(scope="module")
def data():
    docs = random_vectors(300, 40, seed=1, prefix="doc-é-")  # non-ASCII ids round-trip too
    # two empty documents: Milvus refuses them, we skip and report them
    empty = SparseVectors.empty(VOCAB, 2).with_ids(["empty-a", "empty-b"])
    return SparseVectors.concat([docs, empty]), random_vectors(25, 12, seed=2, prefix="q")


@pytest.fixture(scope="module")
def collection(tmp_path_factory, data):
    docs, _ = data
    col = MilvusSparseCollection(str(tmp_path_factory.mktemp("milvus") / "lite.db"), "laconic_test")
    col.create(drop_existing=True)
    report = col.insert(docs, batch_size=128)
    assert report.inserted == 300 and report.skipped_empty == ["empty-a", "empty-b"]
    yield col
    col.close()


def test_top10_matches_exact_oracle(collection, data):
    docs, queries = data
    got = collection.search(queries, k=10)
    expect = exact_top_k(queries, docs[:300], 10)
    for q, (ids, scores) in enumerate(expect):
        assert got.ids[q] == ids, f"query {q}"
        np.testing.assert_allclose(got.scores[q], scores, rtol=1e-5)
        assert got.scores[q].dtype == np.float32


def test_top10_matches_laconic_exact_index(collection, data):
    from laconic.index import SparseIndex

    docs, queries = data
    index = SparseIndex.build(docs[:300], docs.ids[:300])
    ours = index.search(queries, k=10, mode="exact")
    theirs = collection.search(queries, k=10)
    overlap = np.mean([len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(ours.ids, theirs.ids)])
    assert overlap >= 0.99  # the index may quantise weights: allow a rare swap at the cut-off
    for a, b in zip(ours.scores, theirs.scores):
        np.testing.assert_allclose(a, b, rtol=2e-2, atol=1e-3)


def test_delete_upsert_count_and_bad_input(collection, data):
    docs, queries = data
    assert collection.count() == 300
    top = collection.search(queries[:1], k=1).ids[0][0]
    collection.delete([top])
    assert top not in collection.search(queries[:1], k=10).ids[0]
    collection.insert(docs[[int(top.rsplit("-", 1)[1])]], upsert=True)
    assert collection.search(queries[:1], k=1).ids[0] == [top]
    empty_query = SparseVectors.empty(VOCAB, 1)
    assert collection.search(empty_query, k=5).ids == [[]]
    negative = SparseVectors.from_dicts([{3: -1.0}], VOCAB)
    with pytest.raises(ValueError, match="non-negative"):
        collection.search(negative, k=5)
    with pytest.raises(ValueError, match="unique"):
        collection.insert(docs[:2], ["same", "same"])
    with pytest.raises(ValueError, match="k must"):
        collection.search(queries, k=0)
    with pytest.raises(ValueError, match="exists"):
        collection.create()


def test_file_backed_collection_reopens(tmp_path, data):
    docs, queries = data
    path = str(tmp_path / "persist.db")
    with MilvusSparseCollection(path, "persist") as col:
        col.create()
        col.insert(docs[:50])
        before = col.search(queries[:3], k=5)
    with MilvusSparseCollection(path, "persist") as col:
        col.client.load_collection("persist")
        after = col.search(queries[:3], k=5)
    assert before.ids == after.ids
    # closing leaves no milvus process behind (milvus-lite 3.x runs embedded; older versions spawned one)
    leftovers = [p.name() for p in psutil.Process().children(recursive=True) if "milvus" in p.name().lower()]
    assert leftovers == []
