"""SIGKILL at every phase of saving an index of 200,000 documents after add, delete and compact.

The previous index must always open (full checks) and be one of the two
versions, whole: the old one until the atomic exchange, the new one after. A
full disk (a file-size limit on the writer) gives a clear error and leaves the
previous index intact.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from laconic.index import SparseIndex
from laconic.sparse import SparseVectors

CHILD = Path(__file__).with_name("crash_phases.py")
N_DOCS = 200_000


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash200k")
    rng = np.random.default_rng(3)
    rows = np.repeat(np.arange(N_DOCS), 20)  # 20 terms per document
    cols = rng.integers(30_000, size=rows.size)
    mat = sp.coo_matrix((rng.uniform(0.1, 3.0, rows.size).astype(np.float32), (rows, cols)), shape=(N_DOCS, 30_000))
    docs = SparseVectors.from_scipy(mat.tocsr())
    SparseIndex.build(docs, [f"d{i}" for i in range(N_DOCS)]).save(root / "base")
    return root / "base"


def _fingerprint(path: Path) -> tuple[int, int, bool]:
    index = SparseIndex.open(path, warm_up=False)  # the full check: checksums and invariants
    ids = index.ids()
    return len(ids), len(index), "added-0" in set(ids[-1000:])


def _run(path: Path, op: str, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHILD), str(path), op, str(kill_at)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("op", ["add", "delete", "compact"])
def test_sigkill_at_every_phase_leaves_a_whole_version(base, tmp_path, op):
    work = tmp_path / "idx"
    shutil.copytree(base, work)
    old = _fingerprint(work)
    done = _run(work, op, 0)  # a complete run on a copy: the new version and the number of steps
    assert done.returncode == 0, done.stderr[-2000:]
    new = _fingerprint(work)
    steps = int(done.stdout.split()[-1])
    assert new != old and steps > 10
    # every step for the last ten (the exchange and after); evenly spaced before that
    phases = sorted(set(np.linspace(1, steps - 10, 8).astype(int).tolist()) | set(range(max(1, steps - 10), steps + 1)))
    seen = set()
    for k in phases:
        shutil.rmtree(work)
        shutil.copytree(base, work)
        proc = _run(work, op, k)
        assert proc.returncode == -signal.SIGKILL, (k, proc.returncode, proc.stderr[-1000:])
        state = _fingerprint(work)
        assert state in (old, new), (k, state)
        seen.add(state)
    assert seen == {old, new}  # the kills landed both before and after the switch


def test_full_disk_gives_a_clear_error_and_keeps_the_old_index(base, tmp_path):
    work = tmp_path / "idx"
    shutil.copytree(base, work)
    before = _fingerprint(work)
    script = (
        "import resource, signal, sys\n"
        "from laconic.index import SparseIndex\n"
        "from laconic.errors import StorageError\n"
        "index = SparseIndex.open(sys.argv[1], warm_up=False)\n"
        "index.delete(['d1'])\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # no file may grow past 1 MiB\n"
        "try:\n"
        "    index.save(sys.argv[1])\n"
        "except StorageError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(work)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "REFUSED" in proc.stdout and "could not write the index" in proc.stdout and "previous index is unchanged" in proc.stdout
    assert _fingerprint(work) == before
    assert sorted(p.name for p in work.parent.iterdir()) == ["idx"]  # no temporary directory left behind
