"""Child process: open an index, change it (add / delete / compact), save it over itself, and
SIGKILL itself at the K-th step of the write.

Run as ``python crash_phases.py INDEX OP K``. Every call that makes the write
progress is counted: each array written (``np.save``), the header
(``Path.write_text``), each ``fsync`` of a file and of a directory, the atomic
exchange of the two directory names, the fallback renames and the removal of
the old version. ``K = 0`` never kills and prints the number of steps, so the
parent can aim at every one of them.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import sys

import numpy as np

import laconic.storage as storage
from laconic.index import SparseIndex
from laconic.sparse import SparseVectors

path, op, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
index = SparseIndex.open(path, warm_up=False)
if op == "add":
    rng = np.random.default_rng(7)
    rows = [{int(t): 1.0 for t in rng.integers(index.vocab_size, size=20)} for _ in range(1000)]
    index.add(SparseVectors.from_dicts(rows, index.vocab_size), [f"added-{i}" for i in range(1000)])
elif op == "delete":
    index.delete([f"d{i}" for i in range(0, 5000, 10)])
elif op == "compact":
    index.delete([f"d{i}" for i in range(1, 5000, 10)])
    index.compact()
else:
    raise SystemExit(f"unknown op {op}")

steps = 0


def counted(fn):
    def step(*args, **kwargs):
        global steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)

    return step


np.save = counted(np.save)
pathlib.Path.write_text = counted(pathlib.Path.write_text)
os.fsync = counted(os.fsync)
os.replace = counted(os.replace)
shutil.rmtree = counted(shutil.rmtree)
storage.fsync_dir = counted(storage.fsync_dir)
storage._exchange = counted(storage._exchange)

index.save(path)
print(steps)
