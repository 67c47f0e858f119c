"""The prefetch hint compiles for every array type the kernels hand it, reaches the machine code
and never changes a result."""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest

from laconic.index.kernels.prefetch import prefetch


@nb.njit
def _gather_sum(a, idx, ahead):
    total = 0.0
    for j in range(idx.size):
        if j + ahead < idx.size:
            prefetch(a, idx[j + ahead])
        total += a[idx[j]]
    return total


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64, np.float32])
def test_prefetched_gather_equals_numpy(dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 200, 50_000).astype(dtype)
    idx = rng.integers(0, a.size, 10_000)
    want = float(a[idx].astype(np.float64).sum())
    for ahead in (1, 12):
        assert _gather_sum(a, idx, ahead) == want


def test_hint_reaches_the_machine_code():
    """A hint that compiled to nothing would pass the test above; the native code must hold a
    prefetch instruction (x86 ``prefetcht0``, AArch64 ``prfm``)."""
    a = np.arange(100, dtype=np.uint16)
    _gather_sum(a, np.arange(10), 1)
    sig = next(s for s in _gather_sum.signatures if s[0] == nb.typeof(a))
    mnemonics = {line.split()[0] for line in _gather_sum.inspect_asm(sig).lower().splitlines() if line.strip()}
    assert mnemonics & {"prefetcht0", "prfm"}  # mnemonics only: symbol names hold "test_prefetch" anyway
