"""Service under hostile load: malformed requests mixed in, index reloads (good and damaged) during the load.

Question: does ``laconic serve`` ever answer 5xx, or answer a valid query
wrongly, while clients send garbage and an operator reloads indexes under it?

Setup: a synthetic collection (``--docs`` documents, ``--terms`` terms each) is
indexed twice into identical directories A and B, plus a copy of A with one
flipped byte (damaged). ``laconic serve`` runs as a child process on a free
loopback port (vectors only, no model). ``--concurrency`` httpx clients send
exactly ``--requests`` requests, one in ``--bad-every`` malformed (14 kinds:
bad JSON, wrong types, negative or NaN weights, out-of-vocabulary ids, k out of
range, unknown fields, text without an encoder, wrong method or path, ...); the
rest are exact top-10 vector queries whose answer is checked against a scipy
brute-force product over the documents the index holds. Meanwhile an admin
task reloads A, B or the damaged copy every ``--reload-ms``; the damaged one
must be refused (422) and the service must keep answering from the last good
version. Client-side latency (perf_counter around each request) and the
server's peak RSS (psutil, sampled every 20 ms) are reported. It never asserts:
it prints, and returns the counts (the CI smoke test asserts on them).

Usage:
    nice -n 10 python benchmarks/serve_chaos.py                   # 10,000 requests
    python benchmarks/serve_chaos.py --requests 600 --docs 3000    # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import SubprocessServer  # noqa: E402

from laconic.index import SparseIndex  # noqa: E402
from laconic.sparse import SparseVectors  # noqa: E402

TOKEN = "chaos-token"


def collection(n_docs: int, vocab: int, terms: int, seed: int) -> SparseVectors:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_docs), terms)
    cols = rng.zipf(1.3, rows.size) % vocab  # skewed term use, like text
    vals = rng.lognormal(-0.5, 0.8, rows.size).astype(np.float32)
    return SparseVectors.from_scipy(sp.coo_matrix((vals, (rows, cols)), shape=(n_docs, vocab)).tocsr())


def malformed(i: int, vocab: int) -> tuple[str, str, bytes | None, dict]:
    """(method, path, raw body or None, json body) of the i-th kind of bad request."""
    kinds = [
        ("POST", "/search", b'{"vectors": [', {}),
        ("POST", "/search", None, {"vectors": [{"indices": [1, 2], "values": [1.0]}]}),
        ("POST", "/search", None, {"vectors": [{"indices": [1], "values": [-1.0]}]}),
        ("POST", "/search", b'{"vectors": [{"indices": [1], "values": [NaN]}]}', {}),
        ("POST", "/search", None, {"vectors": [{"indices": [vocab + 5], "values": [1.0]}]}),
        ("POST", "/search", None, {"vectors": [{"indices": [1], "values": [1.0]}], "k": 0}),
        ("POST", "/search", None, {"vectors": [{"indices": [1], "values": [1.0]}], "k": 10**9}),
        ("POST", "/search", None, {"vectors": [{"indices": [1], "values": [1.0]}], "mode": "fastest"}),
        ("POST", "/search", None, {"query": "no encoder on this server"}),
        ("POST", "/search", None, {"vectors": [{"indices": ["a"], "values": [1.0]}]}),
        ("POST", "/search", None, {"vectors": []}),
        ("GET", "/search", None, {}),
        ("POST", "/nowhere", None, {}),
        ("POST", "/search", b"\xff\xfe not utf-8", {}),
    ]
    return kinds[i % len(kinds)]


def oracle(docs: SparseVectors, queries: SparseVectors, k: int) -> list[dict]:
    """Per query: every document's float64 score and the top-``k`` scores (brute force)."""
    scores = (queries.to_scipy().astype(np.float64) @ docs.to_scipy().T.astype(np.float64)).toarray()
    out = []
    for row in scores:
        top = np.argsort(-row, kind="stable")[:k]
        out.append({"scores": row, "best": row[top].tolist()})
    return out


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except Exception:  # the server is gone: nothing more to sample
                return
            time.sleep(0.02)


async def drive(url: str, args, queries_json, expected, id_row, dirs) -> dict:
    import httpx

    stats = {"sent": 0, "valid": 0, "malformed": 0, "5xx": 0, "wrong": 0, "bad_not_4xx": 0,
             "reload_ok": 0, "reload_refused": 0, "reload_unexpected": 0, "latency": []}
    plan = list(range(args.requests))
    cursor = {"next": 0}
    done = asyncio.Event()

    async def client(http: httpx.AsyncClient) -> None:
        while cursor["next"] < len(plan):
            i = plan[cursor["next"]]
            cursor["next"] += 1
            bad = args.bad_every and i % args.bad_every == args.bad_every - 1
            start = time.perf_counter()
            if bad:
                method, path, raw, body = malformed(i // args.bad_every, args.vocab)
                if raw is not None:
                    r = await http.request(method, url + path, content=raw, headers={"content-type": "application/json"})
                else:
                    r = await http.request(method, url + path, json=body if method == "POST" else None)
                stats["malformed"] += 1
                if not 400 <= r.status_code < 500:
                    stats["bad_not_4xx"] += 1
            else:
                q = i % len(queries_json)
                r = await http.post(url + "/search", json={"vectors": [queries_json[q]], "k": 10})
                stats["valid"] += 1
                if r.status_code == 200:
                    hits = r.json()["results"][0]
                    want = expected[q]
                    got = [h["score"] for h in hits]
                    ok = len(got) == len(want["best"]) and np.allclose(got, want["best"], rtol=1e-3, atol=1e-4)
                    # every returned id really has the returned score
                    ok = ok and all(abs(want["scores"][id_row[h["id"]]] - h["score"]) <= 1e-3 * max(1, h["score"]) for h in hits)
                    stats["wrong"] += not ok
            stats["latency"].append(time.perf_counter() - start)
            stats["sent"] += 1
            if r.status_code >= 500:
                stats["5xx"] += 1

    async def reloader(http: httpx.AsyncClient) -> None:
        turn = 0
        while not done.is_set():
            await asyncio.sleep(args.reload_ms / 1000)
            target = dirs[turn % 3]
            turn += 1
            r = await http.post(url + "/admin/reload", json={"path": str(target)},
                                headers={"Authorization": f"Bearer {TOKEN}"})
            if target.name == "damaged":
                stats["reload_refused" if r.status_code == 422 else "reload_unexpected"] += 1
            else:
                stats["reload_ok" if r.status_code == 200 else "reload_unexpected"] += 1

    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        reload_task = asyncio.create_task(reloader(http))
        await asyncio.gather(*(client(http) for _ in range(args.concurrency)))
        done.set()
        await reload_task
    return stats


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--vocab", type=int, default=30_000)
    ap.add_argument("--terms", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--bad-every", type=int, default=5, help="one request in this many is malformed")
    ap.add_argument("--reload-ms", type=float, default=150.0)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="chaos-"))
    docs = collection(args.docs, args.vocab, args.terms, seed=0)
    ids = [f"doc-{i}" for i in range(args.docs)]
    index = SparseIndex.build(docs, ids=ids)
    for name in ("a", "b"):
        index.save(work / name)
    shutil.copytree(work / "a", work / "damaged")
    f = work / "damaged" / "seg-0000" / "post_w.npy"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x40
    f.write_bytes(bytes(data))
    stored = index.vectors()  # what the index holds (after 8-bit quantisation): the oracle's documents
    queries = collection(200, args.vocab, 30, seed=1)
    queries_json = [{"indices": queries.row(i)[0].tolist(), "values": queries.row(i)[1].tolist()} for i in range(len(queries))]
    expected = oracle(stored, queries, 10)
    id_row = {d: i for i, d in enumerate(stored.ids)}

    import httpx

    server = SubprocessServer(work / "a", None, 2.0, 32, 1, extra=("--admin-token", TOKEN))
    with server:
        sampler = RssSampler(server.proc.pid)
        sampler.start()
        started = time.perf_counter()
        stats = asyncio.run(drive(server.url, args, queries_json, expected, id_row, [work / "a", work / "b", work / "damaged"]))
        wall = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        alive = server.proc.poll() is None and httpx.get(server.url + "/health", timeout=5).status_code == 200
    lat = np.array(stats.pop("latency")) * 1e3
    result = {**stats, "alive_after": alive, "wall_s": round(wall, 2), "rps": round(stats["sent"] / wall, 1),
              "p50_ms": round(float(np.median(lat)), 3), "p99_ms": round(float(np.quantile(lat, 0.99)), 3),
              "peak_rss_mb": round(sampler.peak / 2**20, 1)}
    print(f"# serve chaos: {args.requests:,} requests, {args.concurrency} clients, 1 in {args.bad_every} malformed, "
          f"reload every {args.reload_ms:g} ms; {args.docs:,} docs x {args.terms} terms")
    print(f"machine: {platform.machine()}, {time.strftime('%Y-%m-%d')}, server: laconic serve (1 worker, 1 search thread)")
    print("| " + " | ".join(result) + " |")
    print("|" + "---|" * len(result))
    print("| " + " | ".join(str(v) for v in result.values()) + " |")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
