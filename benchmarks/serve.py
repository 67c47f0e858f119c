"""Load test of ``laconic serve`` on 127.0.0.1: throughput, p50/p99 latency, errors, encode vs search time.

Question: what does the service sustain with N concurrent clients, where does
the time go (encoding vs index search), and what does micro-batching buy?

Setup: SciFact documents (the first ``--docs``) are encoded by ``--model`` (a
path), or by default by a small random Llama (hidden 128, 2 layers) with a BPE
tokenizer trained here on the corpus (nothing is downloaded; weights are random,
so this measures cost, not quality). They are indexed with ``SparseIndex`` and
saved. Each scenario then starts a server on a free loopback port (a
``laconic serve`` subprocess, or in-process with ``--in-process``), sends
``--warmup`` untimed requests, then exactly ``--requests`` timed ``POST
/search`` requests (one SciFact query each, k=10) from ``--concurrency``
httpx async clients, and stops. Latency is client-side (perf_counter around
each request); encode/search split is the server's ``timing`` field of each
response; batches come from ``GET /stats``.

Scenarios (peers in the same run, same index, same queries):
  vectors        pre-encoded query vectors: search only (the floor)
  text, no batch text queries, micro-batching off (max_batch 1)
  text, batched  text queries, micro-batching on (window ``--window-ms``, max_batch 32)
With ``--backends torch,onnx,onnx:int8,openvino`` the two text scenarios are replaced by
one batched text scenario per encoder backend (``laconic serve --backend ... [--int8]``).
``--zipf S --cache-compare`` draws the timed queries from a Zipf law (a search log's
repeats) and runs each text scenario with the query-vector LRU cache off and on; without
``--cache-compare`` the cache is off, so the rows measure the encoder.
``bm25`` in the backends list adds the lexical floor through the same service shape: BM25
fitted on the same documents (``laconic bm25``), its own float32 index, ``--model``
pointing at it: tokenise + "encode" (term counts) + search, as a learned model is served.

Usage:
    nice -n 10 python benchmarks/serve.py                      # defaults: 2000 docs, 400 requests, 8 clients
    nice -n 10 python benchmarks/serve.py --requests 40 --docs 200 --in-process   # smoke
    python benchmarks/serve.py --model DIR --backends torch,onnx,onnx:int8,bm25 --concurrency 1   # per backend
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BEIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir"


def read_jsonl(path: Path, n: int) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if len(rows) >= n:
                break
            rows.append(json.loads(line))
    return rows


def build_small_model(directory: Path, texts: list[str], vocab: int = 4096) -> Path:
    """A random small Llama and a byte-level BPE trained on ``texts`` (Llama-3 conventions)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bos, eos = "<|begin_of_text|>", "<|end_of_text|>"
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[bos, eos], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos)
    fast.save_pretrained(directory)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=False, bos_token_id=0, eos_token_id=1)
    LlamaForCausalLM(config).save_pretrained(directory)
    return directory


def build_bm25(work: Path, docs: list[dict]) -> tuple[Path, Path]:
    """BM25 fitted on the benchmark's documents and their float32 index (the lexical floor)."""
    from laconic.encoder.lexical import BM25Encoder
    from laconic.index import BuildConfig, SparseIndex

    records = [{"title": d.get("title", ""), "text": d["text"]} for d in docs]
    encoder = BM25Encoder.fit(records)
    model = encoder.save(work / "bm25")
    index = work / "index-bm25"
    SparseIndex.build(encoder.encode_documents(records), [d["_id"] for d in docs],
                      config=BuildConfig(weight_bits=32)).save(index)
    return model, index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SubprocessServer:
    """``laconic serve`` in a child process on a free loopback port; killed on exit.

    ``model=None`` serves pre-encoded vectors only; ``extra`` adds flags (e.g. an admin token).
    """

    def __init__(self, index: Path, model: Path | None, window_ms: float, max_batch: int, threads: int,
                 backend: str = "torch", int8: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "laconic.cli.main", "serve", "--index", str(index),
                    *(["--model", str(model)] if model is not None else []),
                    "--host", "127.0.0.1", "--port", str(self.port), "--batch-window-ms", str(window_ms),
                    "--max-batch", str(max_batch), "--encode-threads", str(threads), "--search-threads", str(threads),
                    "--backend", backend, *(["--int8"] if int8 else []), *extra]

    def __enter__(self) -> SubprocessServer:
        import httpx

        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not become healthy in 180 s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def in_process_server(index: Path, model: Path, window_ms: float, max_batch: int, threads: int,
                      backend: str = "torch", int8: bool = False, extra: tuple[str, ...] = ()):
    from laconic.cli.model_options import load_encoder
    from laconic.index import SparseIndex
    from laconic.serving import ServeConfig, create_app
    from laconic.serving.background import BackgroundServer

    cache = int(extra[extra.index("--query-cache") + 1]) if "--query-cache" in extra else ServeConfig.query_cache
    config = ServeConfig(index=str(index), model=str(model), batch_window_ms=window_ms, max_batch=max_batch,
                         encode_threads=threads, search_threads=threads, query_cache=cache)
    encoder = load_encoder(str(model), backend=backend, int8=int8)
    return BackgroundServer(create_app(SparseIndex.open(index), encoder, config, index_path=str(index)))


async def load(url: str, bodies: list[dict], concurrency: int) -> dict:
    """Send every body once, ``concurrency`` at a time; return per-request measurements."""
    import httpx

    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latency, encode, search, errors = [], [], [], []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            start = time.perf_counter()
            try:
                r = await http.post("/search", json=body)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                continue
            latency.append((time.perf_counter() - start) * 1000)
            if r.status_code != 200:
                errors.append(str(r.status_code))
                continue
            timing = r.json()["timing"]
            encode.append(timing["encode_ms"])
            search.append(timing["search_ms"])

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"latency": latency, "encode": encode, "search": search, "errors": errors, "wall": wall}


def run_scenario(name: str, server, bodies: list[dict], warmup: list[dict], concurrency: int) -> dict:
    import httpx

    with server as srv:
        asyncio.run(load(srv.url, warmup, concurrency))
        before = httpx.get(srv.url + "/stats").json()
        m = asyncio.run(load(srv.url, bodies, concurrency))
        after = httpx.get(srv.url + "/stats").json()
    batches = sum(b["batches"] for b in after["batchers"].values()) - sum(b["batches"] for b in before["batchers"].values())
    cache_a, cache_b = after.get("query_cache") or {}, before.get("query_cache") or {}
    asked = (cache_a.get("hits", 0) + cache_a.get("misses", 0)) - (cache_b.get("hits", 0) + cache_b.get("misses", 0))
    hit_rate = (cache_a.get("hits", 0) - cache_b.get("hits", 0)) / asked if asked else float("nan")
    pct = lambda xs, p: float(np.percentile(xs, p)) if xs else float("nan")  # noqa: E731
    return {
        "scenario": name,
        "requests": len(bodies),
        "ok": len(m["encode"]),
        "errors": len(m["errors"]),
        "throughput_rps": len(m["encode"]) / m["wall"],
        "p50_ms": pct(m["latency"], 50),
        "p99_ms": pct(m["latency"], 99),
        "encode_p50_ms": pct(m["encode"], 50),
        "search_p50_ms": pct(m["search"], 50),
        "search_p99_ms": pct(m["search"], 99),
        "texts_per_batch": (len(m["encode"]) / batches) if batches else 0.0,
        "cache_hit_rate": hit_rate,
    }


def run_benchmark(args: argparse.Namespace) -> list[dict]:
    from laconic.encoder import SparseEncoder
    from laconic.index import SparseIndex

    docs = read_jsonl(args.beir / "corpus.jsonl", args.docs)
    queries = [q["text"] for q in read_jsonl(args.beir / "queries.jsonl", args.requests + args.warmup)]
    while len(queries) < args.requests + args.warmup:  # small query files: cycle
        queries += queries
    work = Path(args.workdir or tempfile.mkdtemp(prefix="laconic-serve-bench-"))
    model = Path(args.model) if args.model else build_small_model(work / "model", [d["text"] for d in docs])
    encoder = SparseEncoder.from_pretrained(str(model))
    t0 = time.perf_counter()
    vectors = encoder.encode_documents([{"title": d.get("title", ""), "text": d["text"]} for d in docs], batch_size=16)
    encode_s = time.perf_counter() - t0
    index_dir = work / "index"
    SparseIndex.build(vectors, [d["_id"] for d in docs]).save(index_dir)
    print(f"# {len(docs)} docs encoded in {encode_s:.1f} s, mean {vectors.nnz / len(docs):.0f} terms/doc; "
          f"index at {index_dir}", file=sys.stderr)
    q_all = queries[: args.requests + args.warmup]
    if args.zipf > 0:  # a search log: head queries repeat (rank r drawn with probability ~ 1 / r^s)
        pool = q_all[args.warmup:]
        draws = np.random.default_rng(0).zipf(args.zipf, size=10 * args.requests)
        q_all = q_all[: args.warmup] + [pool[d - 1] for d in draws if d <= len(pool)][: args.requests]
    q_vec = encoder.encode_queries(q_all)
    text_bodies = [{"query": q, "k": 10} for q in q_all]
    vec_bodies = []
    for i in range(len(q_all)):
        ix, vals = q_vec.row(i)
        vec_bodies.append({"vectors": [{"indices": ix.tolist(), "values": vals.tolist()}], "k": 10})
    del encoder
    make = in_process_server if args.in_process else SubprocessServer
    scenarios = [("vectors", vec_bodies, args.window_ms, 32, "torch", False, index_dir, model)]
    if args.backends:  # one batched text scenario per backend: the whole query (tokenise, encode, search)
        for spec in args.backends.split(","):
            if spec == "bm25":
                bm25_model, bm25_index = build_bm25(work, docs)
                scenarios.append(("text, BM25", text_bodies, args.window_ms, 32, "torch", False, bm25_index, bm25_model))
                continue
            backend, _, precision = spec.partition(":")
            scenarios.append((f"text, {backend} {precision or 'fp32'}", text_bodies, args.window_ms, 32, backend,
                              precision == "int8", index_dir, model))
    else:
        scenarios += [("text, no batch", text_bodies, 0.0, 1, "torch", False, index_dir, model),
                      ("text, batched", text_bodies, args.window_ms, 32, "torch", False, index_dir, model)]
    if args.cache_compare:  # every text scenario with the query cache off, then on (the default)
        scenarios = [(*scenarios[0], ())] + [(f"{name}, cache {state}", *rest, flags) for name, *rest in scenarios[1:]
                                      for state, flags in (("off", ("--query-cache", "0")), ("on", ()))]
    else:
        scenarios = [(*sc, ("--query-cache", "0")) for sc in scenarios]  # measure the encoder, not the cache
    rows = []
    for name, bodies, window, max_batch, backend, int8, index, encoder_dir, extra in scenarios:
        server = make(index, encoder_dir, window, max_batch, args.threads, backend, int8, extra)
        warm, timed = bodies[: args.warmup], bodies[args.warmup : args.warmup + args.requests]
        rows.append(run_scenario(name, server, timed, warm, args.concurrency))
        print(f"# done: {name}", file=sys.stderr)
    return rows


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    base = next(r for r in rows if r["scenario"].startswith("text"))
    print(f"command: python benchmarks/serve.py {' '.join(sys.argv[1:])}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}; "
          f"server: {'in-process' if args.in_process else 'laconic serve subprocess'}; "
          f"{args.requests} requests, {args.concurrency} concurrent clients, k=10, threads={args.threads}")
    print()
    print(f"| scenario | ok | errors | req/s | x vs {base['scenario']} | p50 ms | p99 ms | encode p50 ms | search p50 ms | search p99 ms | texts/batch | cache hit rate |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["throughput_rps"] / base["throughput_rps"] if base["throughput_rps"] else float("nan")
        print(f"| {r['scenario']} | {r['ok']} | {r['errors']} | {r['throughput_rps']:.1f} | {ratio:.2f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['encode_p50_ms']:.2f} | {r['search_p50_ms']:.2f} | "
              f"{r['search_p99_ms']:.2f} | {r['texts_per_batch']:.1f} | {r['cache_hit_rate']:.2f} |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--beir", type=Path, default=BEIR / "scifact", help="BEIR dataset dir (corpus.jsonl, queries.jsonl)")
    p.add_argument("--model", default=None, help="encoder path; default: a small random Llama built here")
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--window-ms", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1, help="encode and search threads of the server")
    p.add_argument("--in-process", action="store_true", help="run the server in this process (quick, for CI)")
    p.add_argument("--workdir", default=None, help="where the model and index go (default: a temp dir)")
    p.add_argument("--json", default=None, help="also write the rows as JSON here")
    p.add_argument("--backends", default=None,
                   help="comma list of backend[:int8] (e.g. torch,onnx,onnx:int8,openvino): one text scenario each, "
                        "instead of the batching comparison")
    p.add_argument("--zipf", type=float, default=0.0,
                   help="draw the timed queries from a Zipf(s) law over the query pool (repeats, as in a search log); 0: all distinct")
    p.add_argument("--cache-compare", action="store_true",
                   help="run each text scenario with the query cache off and on (otherwise it is off)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    rows = run_benchmark(args)
    print_table(rows, args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
