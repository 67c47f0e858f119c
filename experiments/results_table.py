"""Collect ``report.json`` files of ``laconic eval`` into the markdown table of docs/RESULTS.md.

One table per dataset; rows are systems (in the order given). Latency columns
are per query on one CPU thread: query encoding (batch encode time / queries)
and search (median of single-query searches, from the harness). "bytes/doc"
is the whole index over the number of documents; "var. bytes/doc" leaves out
the one table whose size does not grow with the corpus (a pointer per
vocabulary term: 244 KB for MiniLM's 30,522 terms, which alone is 1,221 bytes
per document on a 200-document subset).

Example:
    python experiments/results_table.py --root runs/eval --datasets scifact-500 nfcorpus-500 \
        --systems bm25:BM25 dense:"dense MiniLM" minilm-p1:"ours, phase 1 only"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


COLUMNS = ["nDCG@10", "R@100", "nnz q", "nnz d", "bytes/doc", "var. bytes/doc", "q enc ms", "search ms"]


def variable_bytes_per_doc(report: dict) -> float | None:
    """Index bytes per document without the vocabulary-sized pointer table (None if not an index of ours)."""
    stats = report.get("memory", {}).get("index_stats")
    if not stats or "term_ptr" not in stats.get("bytes", {}):
        return report.get("memory", {}).get("bytes_per_doc")
    return (stats["total_bytes"] - stats["bytes"]["term_ptr"]) / max(stats["documents"], 1)


def row(report: dict | None) -> list[str]:
    if report is None:
        return ["–"] * len(COLUMNS)
    m, t, n, mem = report["metrics"], report["timings"], report.get("nnz", {}), report.get("memory", {})
    q_ms = 1000 * t["encode_queries_s"] / max(report["n_queries"], 1) if "encode_queries_s" in t else None
    return [
        _fmt(m.get("nDCG@10"), ".3f"),
        _fmt(m.get("R@100"), ".3f"),
        _fmt(n.get("mean_query"), ".0f"),
        _fmt(n.get("mean_doc"), ".0f"),
        _fmt(mem.get("bytes_per_doc"), ",.0f"),
        _fmt(variable_bytes_per_doc(report), ",.0f"),
        _fmt(q_ms, ".1f"),
        _fmt(t.get("latency_ms_median"), ".2f"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("runs/eval"))
    ap.add_argument("--datasets", nargs="+", required=True)
    ap.add_argument("--systems", nargs="+", required=True, help="dir[:label] under <root>/<dataset>/")
    ap.add_argument("--plot", type=Path, help="also draw nDCG@10 per dataset per system here (PNG)")
    args = ap.parse_args()

    lines = []
    ndcg: dict[str, dict[str, float]] = {}  # system label -> dataset -> nDCG@10
    for dataset in args.datasets:
        header = [f"{dataset} (test)"] + COLUMNS
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for spec in args.systems:
            name, _, label = spec.partition(":")
            path = args.root / dataset / name / "report.json"
            report = json.loads(path.read_text()) if path.is_file() else None
            cells = [label or name] + row(report)
            lines.append("| " + " | ".join(cells) + " |")
            if report is not None:
                ndcg.setdefault(label or name, {})[dataset] = report["metrics"]["nDCG@10"]
    print("\n".join(lines[1:]))
    if args.plot:
        from laconic.evaluation.plots import ndcg_bars

        print(f"wrote {ndcg_bars(ndcg, args.datasets, args.plot)}")


if __name__ == "__main__":
    main()
