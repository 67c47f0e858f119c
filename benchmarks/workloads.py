"""Every search workload of issue 11, with its peers, from one command.

Runs ``benchmarks/search.py`` once per workload and collects the reports into
one markdown file (``--out``), each under its own heading:

- **easy**: the synthetic collection with ~150 terms per document and ~40 per
  query (``synthetic.WORKLOADS["easy"]``), at every ``--sizes``;
- **laconic**: the synthetic LACONIC shape, top-512 on both sides (means near
  384 terms per document and 295 per query, log-normal weights;
  ``synthetic.WORKLOADS["laconic"]``), at every ``--sizes``;
- **real**: each BEIR dataset of ``--datasets`` encoded by each model of
  ``--models`` (documents and all queries, 256 tokens), encoded once with
  ``laconic encode`` and cached under ``--data-dir``.

Peers in each run: scipy brute force (always, the recall oracle), laconic
(built with the default document order and with ``reorder="bp"``),
Seismic (up to ``--seismic-max-docs`` documents by default: at 1M LACONIC-shaped
documents its build alone takes ~10 minutes and ~18 GiB beside the data, so a
1M run of every workload with it does not fit a 2-core, 24 GiB machine; raise
the limit where it does; the report says so), BMP (only
where the collection's terms fit its 16-bit term ids; the report says so) and
PISA (where ``pyterrier-pisa`` is installed, the ``pisa`` extra; otherwise the
report says so).

Example (the figures in docs/BENCHMARKS.md):
    python benchmarks/workloads.py --sizes 200000 --data-dir bench_data --out docs/bench/workloads.md
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from laconic.storage import atomic_write_text

HERE = Path(__file__).resolve().parent
GRIDS = {  # laconic approximate settings swept per workload: query_cut x alpha [x candidates]
    "easy": "0x0.8,0.9,0.95,1.0",
    "laconic": "0,32,48,64x0.8x100,200",
    "real": "0,32,64x0.8,0.9,1.0",
}
SEISMIC_GRID = "10,20,30,60x0.8,1.0"
# Seismic keeps `retain` of the postings in its lists: 10% suits 200k+ synthetic documents; on the few
# thousand real documents 10% never reached recall 0.95 (measured), so the real workload keeps half.
SEISMIC_BUILD = {"easy": "retain=0.1,max_fraction=6.0", "laconic": "retain=0.1,max_fraction=6.0",
                 "real": "retain=0.5,max_fraction=6.0"}


def encoded(model: str, dataset: Path, data_dir: Path, max_length: int, threads: int) -> tuple[Path, Path]:
    """Documents and queries of ``dataset`` encoded by ``model``: cached .npz files, encoded when missing."""
    out = data_dir / "real" / Path(model).name / dataset.name
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, src in (("documents", dataset / "corpus.jsonl"), ("queries", dataset / "queries.jsonl")):
        path = out / f"{kind}.npz"
        if not path.is_file():
            cmd = [sys.executable, "-m", "laconic", "encode", "--model", model, "--input", str(src), "--output", str(path),
                   "--kind", kind, "--max-length", str(max_length), "--threads", str(threads)]
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
        paths.append(path)
    return paths[0], paths[1]


def run_search(name: str, workload: str, extra: list[str], args: argparse.Namespace, n_docs: int | None) -> str:
    """One search.py run; returns its markdown report (the failure, if it failed)."""
    report = args.data_dir / "reports" / f"{name}.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    systems = ["laconic"]
    if n_docs is None or n_docs <= args.seismic_max_docs:
        systems.append("seismic")
    systems += ["bmp", "pisa"]
    cmd = [sys.executable, str(HERE / "search.py"), *extra, "--k", str(args.k), "--systems", ",".join(systems),
           "--laconic-reorder", args.laconic_reorder, "--pisa-algorithms", args.pisa_algorithms,
           "--seismic-build", args.seismic_build or SEISMIC_BUILD[workload], "--seismic-grid", SEISMIC_GRID,
           "--latency-queries", str(args.latency_queries), "--data-dir", str(args.data_dir), "--out", str(report)]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd)
    text = report.read_text() if report.is_file() else ""
    if done.returncode != 0:
        text += f"\n\n**This run failed** (exit code {done.returncode}); the report above is what it had finished.\n"
    if "seismic" not in systems:
        text += (f"\n\nSeismic was not run here: above {args.seismic_max_docs:,} documents by default "
                 "(`--seismic-max-docs`): its 1M build takes ~10 minutes and ~18 GiB beside the data.\n")
    return f"{text}\n\n(run time {time.perf_counter() - t0:.0f} s)\n"


def demote_headings(text: str) -> str:
    """Nest a report under this file's per-workload heading."""
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.M)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200000,1000000", help="synthetic collection sizes (comma list)")
    ap.add_argument("--workloads", default="easy,laconic,real", help="any of easy, laconic, real")
    ap.add_argument("--models", default=f"{HERE.parent / 'models' / 'laconic-minilm'},{HERE.parent.parent / 'shared' / 'models' / 'splade-tiny'}",
                    help="encoders for the real workload (comma list)")
    ap.add_argument("--datasets", default=f"{HERE.parent.parent / 'shared' / 'data' / 'beir' / 'scifact'},"
                                          f"{HERE.parent.parent / 'shared' / 'data' / 'beir' / 'nfcorpus'}",
                    help="BEIR folders for the real workload (comma list)")
    ap.add_argument("--max-length", type=int, default=256, help="tokens per text when encoding")
    ap.add_argument("--encode-threads", type=int, default=os.cpu_count() or 1, help="CPU threads for encoding")
    ap.add_argument("--queries", type=int, default=1000, help="synthetic queries")
    ap.add_argument("--latency-queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--laconic-reorder", default="seeds,bp", help="document orders laconic is built with (each its own system)")
    ap.add_argument("--pisa-algorithms", default="maxscore,block_max_maxscore,block_max_wand",
                    help="PISA query algorithms to sweep (maxscore alone keeps 1M LACONIC-shaped runs short)")
    ap.add_argument("--seismic-max-docs", type=int, default=300_000)
    ap.add_argument("--seismic-build", help="Seismic build knobs for every workload (default: per workload, SEISMIC_BUILD)")
    ap.add_argument("--data-dir", type=Path, default=Path("bench_data"), help="caches: synthetic data, encodings, reports")
    ap.add_argument("--out", type=Path, required=True, help="the combined markdown report")
    args = ap.parse_args(argv)
    args.data_dir = args.data_dir.resolve()
    workloads = args.workloads.split(",")
    parts = ["# Search workloads (benchmarks/workloads.py)\n",
             "- command: `python benchmarks/workloads.py " + " ".join(argv if argv is not None else sys.argv[1:]) + "`\n"]

    def save() -> None:  # after every workload, so a long run cut short keeps what it finished
        atomic_write_text(args.out, "\n".join(parts))

    for size in (int(s) for s in args.sizes.split(",") if s):
        for w in (w for w in ("easy", "laconic") if w in workloads):
            extra = ["--workload", w, "--docs", str(size), "--queries", str(args.queries), "--laconic-grid", GRIDS[w]]
            parts.append(f"\n## {w}, {size:,} documents\n\n" + demote_headings(run_search(f"{w}-{size}", w, extra, args, size)))
            save()
    if "real" in workloads:
        for model in (m for m in args.models.split(",") if m):
            for ds in (Path(d) for d in args.datasets.split(",") if d):
                docs, queries = encoded(model, ds, args.data_dir, args.max_length, args.encode_threads)
                extra = ["--vectors", str(docs), "--query-vectors", str(queries), "--laconic-grid", GRIDS["real"]]
                name = f"real-{Path(model).name}-{ds.name}"
                parts.append(f"\n## real: {ds.name} encoded by {Path(model).name}\n\n"
                             + demote_headings(run_search(name, "real", extra, args, None)))
                save()
    save()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
