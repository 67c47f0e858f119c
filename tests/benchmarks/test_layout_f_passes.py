"""benchmarks/layout_f_passes.py: layout F's two passes agree with format 3's kernels.

The probe asserts, per query, that F's bounds equal format 3's bit for bit and
that F files as many pairs in every block as ``fill_lists``; format 3's kernels
are the oracle. The test also asks that F's top-k over the scored blocks match
format 3's (its 2-bit weights reorder near-ties at most). Blocks of 8 over 3,000
documents give 375 blocks, so some gaps need F's jump entries.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_f_passes_agree_with_format_3(tmp_path, capsys):
    sys.path.insert(0, str(BENCH))
    try:
        import layout_f_passes
    finally:
        sys.path.remove(str(BENCH))
    layout_f_passes.main(["--workload", "easy", "--docs", "3000", "--queries", "8", "--query-cache", "8",
                          "--kept", "20", "--block-size", "8", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    entries, pairs = (int(v.replace(",", "")) for v in out.split("entries ")[1].split(" pairs")[0].split(" for "))
    assert entries > pairs  # jump entries were exercised
    assert "| bounds |" in out and "| filing |" in out and "| scoring |" in out
    overlap = float(out.split("scored blocks ")[1].split()[0])
    assert overlap >= 0.9


def test_a_pair_right_after_a_jump_is_filed_when_its_chunk_could_be_skipped():
    """Term 1's first pair is 128 blocks from the start, so it needs a jump entry; its pair then
    opens an aligned chunk of 8 entries. A jump that lands on the pair's own block would leave the
    chunk's ids in [prev, last], not (prev, last], and the skip test would drop the kept block."""
    import numpy as np

    sys.path.insert(0, str(BENCH))
    try:
        import layout_f_passes as lf
    finally:
        sys.path.remove(str(BENCH))
    from laconic.index import BuildConfig, SparseIndex
    from laconic.sparse import SparseVectors

    dense = np.zeros((200, 3), np.float32)
    dense[0:7, 0] = 1.0  # term 0: entries 0-6
    dense[127:135, 1] = 2.0  # term 1: a jump entry (7), then its pairs from entry 8, a chunk boundary
    dense[:, 2] = 0.5
    index = SparseIndex.build(SparseVectors.from_dense(dense), config=BuildConfig(block_size=1, reorder="none"),
                              show_progress=False)
    (seg,) = index._snap.segments
    f = lf.to_f(seg)
    te = f["term_entries"]
    assert (te[1], te[2]) == (7, 16)
    keep = np.zeros(200, np.bool_)
    keep[127] = True
    out = [np.empty(16, np.int64) for _ in range(3)] + [np.empty(16, np.float32)]
    units = np.asarray(seg.arrays["units"])
    n = lf.fill_f(te[1:2], te[2:3], np.ones(1, np.float32), f["term_post"][1:2], f["g"], f["code"], f["x"], units,
                  f["single_table"], keep, *out)
    assert out[0][:n].tolist() == [127]
    assert abs(out[3][0] - 2.0) <= 2.0 * 0.028 / 8 + 2.0 / 510  # its weight, from the pair's 2-bit step
