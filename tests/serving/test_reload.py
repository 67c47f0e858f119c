"""Index swaps: each request sees one version, in-flight requests are not dropped."""

from __future__ import annotations

import threading
import time

import pytest
from doubles import HashEncoder, corpus_index
from fastapi.testclient import TestClient

from laconic.serving import IndexRegistry, ServeConfig, create_app


def test_registry_lease_keeps_its_version():
    registry = IndexRegistry("v1-index")
    with registry.lease() as held:
        registry.swap("v2-index")
        assert held.version == 1 and held.index == "v1-index"
        assert registry.in_flight() == {1: 1}
        with registry.lease() as newer:
            assert newer.version == 2 and registry.in_flight() == {1: 1, 2: 1}
    assert registry.in_flight() == {}


def test_reload_failure_keeps_old_version():
    def opener(path):
        raise FileNotFoundError(path)

    registry = IndexRegistry("old", path="idx", opener=opener)
    with pytest.raises(FileNotFoundError):
        registry.reload("missing")
    assert registry.current.version == 1 and registry.current.index == "old"
    with pytest.raises(ValueError, match="path"):
        IndexRegistry("x").reload()


def test_swap_during_slow_search_serves_old_then_new():
    enc = HashEncoder()
    versions = {"v1": corpus_index(enc, delay=0.3, suffix="@v1"), "v2": corpus_index(enc, suffix="@v2")}
    app = create_app(versions["v1"], enc, ServeConfig(), index_path="v1", opener=versions.__getitem__)
    with TestClient(app) as client:
        slow: dict = {}

        def search():
            slow["r"] = client.post("/search", json={"query": "inverted index", "k": 3})

        t = threading.Thread(target=search)
        t.start()
        time.sleep(0.1)  # the slow search now holds version 1
        assert client.get("/stats").json()["in_flight"] == {"1": 1}
        r = client.post("/admin/reload", json={"path": "v2"})
        assert r.status_code == 200 and r.json() == {
            "index_version": 2, "path": "v2", "documents": 6, "previous_version": 1
        }
        fresh = client.post("/search", json={"query": "inverted index", "k": 3}).json()
        t.join()
        old = slow["r"].json()
        assert old["index_version"] == 1 and all(h["id"].endswith("@v1") for h in old["results"][0])
        assert fresh["index_version"] == 2 and all(h["id"].endswith("@v2") for h in fresh["results"][0])
        # reopen the current path (no body)
        assert client.post("/admin/reload").json()["index_version"] == 3


def test_reload_errors_and_token():
    enc = HashEncoder()
    indexes = {"good": corpus_index(enc), "small-vocab": corpus_index(HashEncoder(vocab_size=50))}

    def opener(path):
        if path not in indexes:
            raise FileNotFoundError(f"no index at {path}")
        return indexes[path]

    app = create_app(indexes["good"], enc, ServeConfig(admin_token="s3cret"), index_path="good", opener=opener)
    with TestClient(app) as client:
        assert client.post("/admin/reload").status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        r = client.post("/admin/reload", json={"path": "nope"}, headers=auth)
        assert r.status_code == 422 and "still serving version 1" in r.json()["error"]
        r = client.post("/admin/reload", json={"path": "small-vocab"}, headers=auth)
        assert r.status_code == 422 and "vocabulary" in r.json()["error"]
        assert client.get("/health").json()["index_version"] == 1
        assert client.post("/admin/reload", json={"path": "good"}, headers=auth).json()["index_version"] == 2
        assert client.get("/stats").json()["config"]["admin_token"] == "***"


def test_reload_of_damaged_index_keeps_serving_the_old_one(tmp_path):
    """A real saved index, one flipped byte in a copy: the reload is refused with the file named."""
    import shutil

    from laconic.index import SparseIndex

    enc = HashEncoder()
    docs = enc.encode_documents(["vitamin d and bones", "statins lower cholesterol", "gene expression in cells"])
    SparseIndex.build(docs, ids=["a", "b", "c"]).save(tmp_path / "good")
    shutil.copytree(tmp_path / "good", tmp_path / "bad")
    target = tmp_path / "bad" / "ids_blob.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0x01  # the last id's last byte: hits would come back under a wrong id
    target.write_bytes(bytes(data))

    app = create_app(SparseIndex.open(tmp_path / "good"), enc, index_path=str(tmp_path / "good"))
    with TestClient(app) as client:
        before = client.post("/search", json={"queries": ["statins cholesterol"], "k": 2}).json()["results"]
        r = client.post("/admin/reload", json={"path": str(tmp_path / "bad")})
        assert r.status_code == 422
        assert "still serving version 1" in r.json()["error"] and "ids_blob.npy" in r.json()["error"]
        assert "checksum" in r.json()["error"]
        assert client.get("/health").json()["index_version"] == 1
        assert client.post("/search", json={"queries": ["statins cholesterol"], "k": 2}).json()["results"] == before
