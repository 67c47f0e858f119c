"""No index file can crash the process or slip past the checks: thousands of damaged and crafted files.

The fuzzer (``index_fuzz.py``) runs in child processes, so a segmentation fault
shows up as a failed test instead of killing pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors

FUZZER = Path(__file__).with_name("index_fuzz.py")


@pytest.fixture(scope="module")
def saved_index(tmp_path_factory) -> Path:
    """Two segments, deletions, 8-bit weights: every array kind is present."""
    root = tmp_path_factory.mktemp("fuzz_src")
    docs = SparseVectors.from_scipy(sp.random(700, 300, density=0.05, random_state=1, format="csr"))
    index = SparseIndex.build(docs, [f"doc-{i}" for i in range(700)], config=BuildConfig(block_size=16, shards=2))
    index.add(SparseVectors.from_scipy(sp.random(90, 300, density=0.05, random_state=2, format="csr")), [f"new-{i}" for i in range(90)])
    index.delete(["doc-3", "doc-500", "new-7"])
    index.save(root / "idx")
    return root / "idx"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_file_content_crashes_or_lies(saved_index, tmp_path, seed):
    proc = subprocess.run(
        [sys.executable, str(FUZZER), str(saved_index), str(tmp_path), str(seed), "700"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"fuzzer died (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["refused"] + summary["opened_correct"] == summary["cases"] == 700
    # every flipped byte and every truncation is refused; crafted files that open (an edit that keeps the
    # index valid: a raised bound, another weight code, a toggled tombstone) searched correctly
    assert summary["opened_by_kind"]["flip"] == summary["opened_by_kind"]["truncate"] == 0
    assert summary["refused"] >= summary["kinds"]["flip"] + summary["kinds"]["truncate"]


def test_every_single_byte_flip_of_an_array_is_refused(saved_index, tmp_path):
    """Checksums on by default: a flipped byte anywhere in any array file never opens."""
    import shutil

    from laconic.errors import IndexCorruptError

    rng = np.random.default_rng(5)
    for f in sorted(saved_index.rglob("*.npy")):
        rel = f.relative_to(saved_index)
        target = tmp_path / "copy"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(saved_index, target)
        data = bytearray((target / rel).read_bytes())
        data[int(rng.integers(len(data)))] ^= 0x10
        (target / rel).write_bytes(bytes(data))
        with pytest.raises(IndexCorruptError, match=str(rel).replace("/", ".")):
            SparseIndex.open(target, warm_up=False)
