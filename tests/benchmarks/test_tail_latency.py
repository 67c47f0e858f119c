"""benchmarks/tail_latency.py runs end to end on a tiny synthetic collection.

The script's profile is only readable if its "=" marks are right: a cap of at
least the segment's block count scores every block that exact search would, so
its top-k must equal the exact one and be marked; the pair counts must be the
query terms' distinct (term, block) pairs, counted here from the documents themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def tail(tmp_path_factory):
    sys.path.insert(0, str(BENCH))
    try:
        import tail_latency

        yield tail_latency, tmp_path_factory.mktemp("tail")
    finally:
        sys.path.remove(str(BENCH))


def test_profile_marks_full_cap_as_exact(tail, capsys):
    module, data_dir = tail
    module.main(["--workload", "easy", "--docs", "3000", "--queries", "25", "--repeats", "1",
                 "--slowest", "3", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| q") and not line.startswith("| query")]
    assert len(rows) == 3
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        # 3,000 documents are 47 blocks of 64: caps 64 and up cover every block
        assert all(c.endswith("=") for c in cells[5 + module.CAPS.index(64):]), row
    assert "p99/p50" in out and "corr(exact ms, pairs)" in out


def test_pair_counts_match_the_index(tail):
    module, data_dir = tail
    import numpy as np

    from laconic.index import SparseIndex

    docs, queries = module.load_or_generate(data_dir, 3000, 1000, cfg=module.WORKLOADS["easy"], show_progress=False)
    index = SparseIndex.build(docs, show_progress=False)
    seg = index._snap.segments[0]
    q = queries[0:1]
    # oracle: count distinct (term, block) pairs straight from the documents in the index's order
    order = np.asarray(seg.arrays["doc_order"])
    csr = docs.to_scipy()[order]
    blocks = np.repeat(np.arange(csr.shape[0]) // seg.block_size, np.diff(csr.indptr))
    want = sum(len(np.unique(blocks[csr.indices == t])) for t in q.indices)
    assert module.query_pairs(index, q) == want
