"""Child-process fuzzer of index files: damaged and crafted indexes, each opened and searched.

Run as ``python index_fuzz.py SOURCE WORKDIR SEED CASES``. Each case copies the
saved index at SOURCE, damages or crafts one file, opens it and, if it opens,
searches it and compares exact search with a brute-force oracle over what the
index holds (``vectors()``). It prints one JSON summary; a segmentation fault
or any unexpected exception kills or fails the child, which the parent test
sees as a non-zero exit status.

Kinds of case:
- ``flip``: one byte of any file (arrays, .npy headers, header.json) xor-ed;
- ``truncate``: any file cut short;
- ``craft``: one array edited (a random value, the dtype's extreme, -1, two
  entries swapped, a slice reversed) and written back with the header's size
  and CRC recomputed, so only the structural checks stand between it and the kernels.
"""

from __future__ import annotations

import json
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np

from laconic.errors import IndexFormatError
from laconic.index import SparseIndex
from laconic.sparse import SparseVectors


def oracle_scores(queries: SparseVectors, docs: SparseVectors, k: int) -> list[np.ndarray]:
    scores = (queries.to_scipy().astype(np.float64) @ docs.to_scipy().T.astype(np.float64)).toarray()
    return [np.sort(row[row > 0])[::-1][:k] for row in scores]


def craft(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.array(arr)
    if out.size == 0:
        return out
    i, j = rng.integers(out.size, size=2)
    info = np.iinfo(out.dtype) if out.dtype.kind in "iu" else None
    how = rng.integers(6)
    if out.dtype == np.bool_:
        out[i] = not out[i]
    elif how == 0 and info is not None:
        out[i] = rng.integers(info.min, info.max, dtype=out.dtype, endpoint=True)
    elif how == 1 and info is not None:
        out[i] = info.max
    elif how == 2:
        out[i] = -1 if out.dtype.kind in "if" else 0
    elif how == 3:
        out[i], out[j] = out[j], out[i]
    elif how == 4:
        lo, hi = sorted((int(i), int(j)))
        out[lo:hi + 1] = out[lo:hi + 1][::-1]
    else:
        out[i] = out[i] + 1 if out.dtype.kind in "iu" else np.float32(np.inf)
    return out


def flipped(data: bytearray, rel: str, rng: np.random.Generator) -> bytearray:
    """``data`` with one byte xor-ed; in header.json, never a flip that leaves the same JSON
    (whitespace turned into other whitespace is not damage, and opening it is right)."""
    while True:
        out = bytearray(data)
        out[int(rng.integers(len(out)))] ^= int(rng.integers(1, 256))
        if rel != "header.json":
            return out
        try:
            if json.loads(out) != json.loads(data):
                return out
        except ValueError:  # not JSON (or not UTF-8) any more: damage
            return out


def rewrite_with_header(index_dir: Path, rel: str, arr: np.ndarray) -> None:
    """Save ``arr`` as ``rel`` and make header.json agree with it (size and CRC)."""
    target = index_dir / rel
    np.save(target, arr, allow_pickle=False)
    header = json.loads((index_dir / "header.json").read_text())
    data = target.read_bytes()
    header["files"][rel].update(bytes=len(data), crc32=zlib.crc32(data))
    (index_dir / "header.json").write_text(json.dumps(header))


def run(source: Path, work: Path, seed: int, cases: int) -> dict:
    rng = np.random.default_rng(seed)
    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    arrays = [f for f in files if f.endswith(".npy")]
    base = SparseIndex.open(source)
    vocab = base.vocab_size
    queries = SparseVectors.from_dicts(
        [{int(t): float(rng.uniform(0.1, 2)) for t in rng.integers(vocab, size=8)} for _ in range(6)], vocab
    )
    counts = {"refused": 0, "opened_correct": 0}
    opened_by_kind = {"flip": 0, "truncate": 0, "craft": 0}
    kinds = {"flip": 0, "truncate": 0, "craft": 0}
    for case in range(cases):
        target = work / f"case-{case % 2}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        kind = ("flip", "truncate", "craft")[case % 3]
        kinds[kind] += 1
        if kind == "craft":
            rel = arrays[int(rng.integers(len(arrays)))]
            rewrite_with_header(target, rel, craft(np.load(target / rel), rng))
        else:
            rel = files[int(rng.integers(len(files)))]
            data = bytearray((target / rel).read_bytes())
            if kind == "flip" and data:
                data = flipped(data, rel, rng)
            else:
                data = data[: int(rng.integers(len(data)))] if data else data
            (target / rel).write_bytes(bytes(data))
        try:
            index = SparseIndex.open(target, warm_up=False)
        except IndexFormatError:
            counts["refused"] += 1
            continue
        # it opened: then it must be a valid index, searched correctly
        stored = index.vectors()
        for mode in ("exact", "approximate"):
            got = index.search(queries, k=10, mode=mode)
            for q, expect in enumerate(oracle_scores(queries, stored, 10)):
                if mode == "exact":
                    np.testing.assert_allclose(got.scores[q], expect, rtol=1e-4, atol=1e-5, err_msg=f"case {case} {kind} {rel}")
                assert set(got.ids[q]) <= set(stored.ids), f"case {case}: ids not in the index"
        counts["opened_correct"] += 1
        opened_by_kind[kind] += 1
    return {"cases": cases, "kinds": kinds, **counts, "opened_by_kind": opened_by_kind}


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
