"""CI smoke run of benchmarks/serve.py: a few dozen requests, every scenario, no errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "serve.py"


def test_load_benchmark_smoke(tiny_llama_dir, beir_dir, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_serve", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main([
        "--beir", str(beir_dir / "scifact"), "--model", str(tiny_llama_dir), "--docs", "100",
        "--requests", "24", "--warmup", "4", "--concurrency", "4", "--in-process", "--workdir", str(tmp_path),
    ])
    out = capsys.readouterr().out
    assert [r["scenario"] for r in rows] == ["vectors", "text, no batch", "text, batched"]
    for row in rows:
        assert row["requests"] == row["ok"] == 24 and row["errors"] == 0
        assert row["throughput_rps"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
        assert row["search_p50_ms"] > 0
    assert rows[0]["encode_p50_ms"] == 0 and rows[1]["encode_p50_ms"] > 0
    assert rows[1]["texts_per_batch"] == 1.0  # max_batch 1: every text alone
    assert rows[2]["texts_per_batch"] >= 1.0
    assert "| text, batched |" in out and "req/s" in out
