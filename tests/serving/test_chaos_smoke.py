"""CI run of benchmarks/serve_chaos.py: malformed requests and reloads (one damaged) under load, on loopback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_chaos.py"


def test_no_5xx_no_wrong_answer_under_hostile_load(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_serve_chaos", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    r = bench.main(["--requests", "1200", "--docs", "3000", "--reload-ms", "60", "--workdir", str(tmp_path)])
    assert r["sent"] == 1200 and r["malformed"] == 240 and r["valid"] == 960
    assert r["5xx"] == 0 and r["wrong"] == 0 and r["bad_not_4xx"] == 0
    assert r["reload_refused"] >= 1 and r["reload_ok"] >= 2 and r["reload_unexpected"] == 0
    assert r["alive_after"]
