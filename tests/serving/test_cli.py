"""`laconic serve` end to end: a subprocess on a free loopback port, and its error exits."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx

from laconic.index import SparseIndex
from laconic.sparse import SparseVectors


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "laconic.cli.main", "serve", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_serve_subprocess_answers_and_stops(tmp_path):
    docs = SparseVectors.from_dicts([{1: 1.0, 4: 2.0}, {4: 0.5}], vocab_size=16, ids=["x", "y"])
    SparseIndex.build(docs).save(tmp_path / "idx")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _serve("--index", str(tmp_path / "idx"), "--port", str(port), "--search-threads", "1")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                health = httpx.get(url + "/health", timeout=1).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health == {"status": "ok", "index_version": 1, "documents": 2, "encoder": False}
        r = httpx.post(url + "/search", json={"vectors": [{"indices": [4], "values": [1.0]}], "k": 2})
        assert [h["id"] for h in r.json()["results"][0]] == ["x", "y"]
        assert httpx.post(url + "/search", json={"query": "text needs a model"}).status_code == 400
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stderr.close()
    assert proc.returncode is not None


def test_serve_errors_exit_2_with_a_message(tmp_path):
    proc = _serve("--index", str(tmp_path / "missing"))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and err.startswith("laconic: error:") and "missing" in err
    proc = _serve("--index", str(tmp_path), "--workers", "0")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "workers=0" in err
