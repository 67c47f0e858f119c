"""Searches racing with add/delete and with index swaps see exactly one version each."""

from __future__ import annotations

import threading

import numpy as np
from fastapi.testclient import TestClient

from laconic.index import BuildConfig, SparseIndex
from laconic.serving import ServeConfig, create_app
from laconic.sparse import SparseVectors

VOCAB = 64
MARK = 7  # every document holds this term, so a query on it lists the whole collection
PER_GEN = 10


def generation(g: int) -> tuple[SparseVectors, list[str]]:
    """Documents of generation g: all share MARK with weight 1, plus a term of their own."""
    rows = [{MARK: 1.0, 10 + (i % 50): 0.5} for i in range(PER_GEN)]
    return SparseVectors.from_dicts(rows, VOCAB), [f"g{g}-{i}" for i in range(PER_GEN)]


def test_searches_during_add_and_delete_see_whole_generations():
    """The writer adds generation g, then deletes generation g-2, each in one call.

    A consistent snapshot therefore holds whole generations only; a search that
    saw half of an add or half of a delete would list part of a generation.
    """
    index = SparseIndex.build(*generation(0), config=BuildConfig(block_size=4))
    query = SparseVectors.from_dicts([{MARK: 1.0}], VOCAB)
    stop = threading.Event()
    errors: list[str] = []
    seen_sizes: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            for mode in ("exact", "approximate"):
                got = index.search(query, k=1000, mode=mode, threads=1)
                ids = got.ids[0]
                gens: dict[str, int] = {}
                for doc in ids:
                    gen = doc.split("-")[0]
                    gens[gen] = gens.get(gen, 0) + 1
                if any(count != PER_GEN for count in gens.values()) or len(set(ids)) != len(ids):
                    errors.append(f"{mode}: partial generation in {sorted(gens.items())}")
                if not np.allclose(got.scores[0], 1.0, atol=0.01):
                    errors.append(f"{mode}: wrong scores {got.scores[0][:5]}")
                seen_sizes.add(len(ids))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for g in range(1, 40):
            index.add(*generation(g))
            if g >= 2:
                assert index.delete(generation(g - 2)[1]) == PER_GEN
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert len(index) == 2 * PER_GEN
    assert len(seen_sizes) >= 2  # the readers really raced with the writer


def test_http_searches_during_swaps_see_one_version(tmp_path):
    """Two saved indexes, swapped back and forth while clients search through HTTP."""
    paths = {}
    for name in ("even", "odd"):
        rows = [{MARK: 1.0, 10 + i: 0.5} for i in range(30)]
        vectors = SparseVectors.from_dicts(rows, VOCAB, ids=[f"{name}-{i}" for i in range(30)])
        paths[name] = str(tmp_path / name)
        SparseIndex.build(vectors).save(paths[name])
    app = create_app(SparseIndex.open(paths["odd"]), None, ServeConfig(search_concurrency=4), index_path=paths["odd"])
    body = {"vectors": [{"indices": [MARK], "values": [1.0]}], "k": 100}
    errors: list[str] = []
    versions: set[int] = set()
    stop = threading.Event()
    with TestClient(app) as client:

        def reader() -> None:
            while not stop.is_set():
                r = client.post("/search", json=body)
                if r.status_code != 200:
                    errors.append(f"status {r.status_code}: {r.text}")
                    continue
                out = r.json()
                expect = "even" if out["index_version"] % 2 == 0 else "odd"
                names = {hit["id"].split("-")[0] for hit in out["results"][0]}
                if names != {expect} or len(out["results"][0]) != 30:
                    errors.append(f"version {out['index_version']} returned {names}")
                versions.add(out["index_version"])

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for swap in range(2, 14):
                r = client.post("/admin/reload", json={"path": paths["even" if swap % 2 == 0 else "odd"]})
                assert r.status_code == 200 and r.json()["index_version"] == swap
        finally:
            stop.set()
            for t in threads:
                t.join()
    assert not errors, errors[:3]
    assert len(versions) >= 3
