"""On-disk format: a directory of plain ``.npy`` arrays plus ``header.json``.

The byte-level spec is docs/index-format.md. Writes go through
``laconic.storage.atomic_directory`` (a killed save leaves the previous index
intact). Opening checks the header, every file's presence, size and ``.npy``
dtype/shape (cheap: catches truncation and swapped files); ``verify=True``
also recomputes each file's CRC-32 (catches flipped bytes).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import IndexFormatError
from laconic.index.config import BuildConfig
from laconic.index.ids import IdTable
from laconic.index.segment import ARRAYS, Quantiser, Segment
from laconic.storage import atomic_directory

FORMAT_NAME = "laconic.index"
FORMAT_VERSION = 1
HEADER = "header.json"
_CHUNK = 1 << 22


def crc32_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def write_index(
    path: str | Path,
    *,
    vocab_size: int,
    config: BuildConfig,
    segments: list[Segment],
    ids: IdTable,
    deleted: np.ndarray,
) -> None:
    """Write a complete index directory atomically."""
    with atomic_directory(path) as tmp:
        files: dict[str, dict[str, Any]] = {}

        def put(rel: str, arr: np.ndarray) -> None:
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, np.ascontiguousarray(arr), allow_pickle=False)
            files[rel] = {
                "dtype": np.dtype(arr.dtype).str,
                "shape": list(arr.shape),
                "bytes": target.stat().st_size,
                "crc32": crc32_file(target),
            }

        put("ids_blob.npy", ids.blob)
        put("ids_offsets.npy", ids.offsets)
        put("deleted.npy", deleted)
        seg_meta = []
        for s, seg in enumerate(segments):
            name = f"seg-{s:04d}"
            for arr_name in ARRAYS:
                put(f"{name}/{arr_name}.npy", seg.arrays[arr_name])
            q = seg.quant
            seg_meta.append(
                {
                    "name": name,
                    "n_docs": seg.n_docs,
                    "block_size": seg.block_size,
                    "weight_bits": q.bits,
                    "scale": q.scale,
                    "bound_scale": q.bound_scale,
                    "ub_mult": q.ub_mult,
                }
            )
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "vocab_size": int(vocab_size),
            "config": config.to_dict(),
            "n_total": len(ids),
            "n_live": int(len(ids) - deleted.sum()),
            "segments": seg_meta,
            "files": files,
        }
        (tmp / HEADER).write_text(json.dumps(header, indent=1), encoding="utf-8")


def read_header(path: Path) -> dict[str, Any]:
    head = path / HEADER
    if not path.is_dir():
        raise IndexFormatError(f"{path}: no such index directory")
    if not head.is_file():
        raise IndexFormatError(f"{head}: missing index header (not a laconic index?)")
    try:
        header = json.loads(head.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"{head}: unreadable header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise IndexFormatError(f"{head}: not a laconic index (format {header.get('format')!r})")
    if header.get("version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{head}: index format version {header.get('version')!r}, this laconic reads version {FORMAT_VERSION}"
        )
    return header


def _load_array(path: Path, rel: str, spec: dict[str, Any], verify: bool) -> np.ndarray:
    file = path / rel
    if not file.is_file():
        raise IndexFormatError(f"{file}: missing index file")
    size = file.stat().st_size
    if size != spec["bytes"]:
        raise IndexFormatError(f"{file}: size {size} bytes, header says {spec['bytes']} (truncated or replaced)")
    if verify and crc32_file(file) != spec["crc32"]:
        raise IndexFormatError(f"{file}: checksum mismatch (corrupted)")
    try:
        # copy-on-write map: shares the page cache, and numba sees ordinary writable arrays
        arr = np.load(file, mmap_mode="c", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise IndexFormatError(f"{file}: unreadable array ({exc})") from exc
    if np.dtype(arr.dtype).str != spec["dtype"] or list(arr.shape) != spec["shape"]:
        raise IndexFormatError(
            f"{file}: array {arr.dtype}{list(arr.shape)}, header says {spec['dtype']}{spec['shape']}"
        )
    return arr


def read_index(path: str | Path, verify: bool = False) -> dict[str, Any]:
    """Open an index directory memory-mapped; returns its parts (raises IndexFormatError)."""
    path = Path(path)
    header = read_header(path)
    try:
        files = header["files"]
        config = BuildConfig.from_dict(header["config"])
        load = lambda rel: _load_array(path, rel, files[rel], verify)  # noqa: E731
        ids = IdTable(load("ids_blob.npy"), load("ids_offsets.npy"))
        deleted = np.array(load("deleted.npy"), dtype=bool)
        segments = []
        for meta in header["segments"]:
            arrays = {name: load(f"{meta['name']}/{name}.npy") for name in ARRAYS}
            quant = Quantiser(int(meta["weight_bits"]), float(meta["scale"]), float(meta["bound_scale"]), float(meta["ub_mult"]))
            segments.append(Segment(arrays, int(meta["n_docs"]), int(meta["block_size"]), quant))
        vocab_size = int(header["vocab_size"])
    except KeyError as exc:
        raise IndexFormatError(f"{path / HEADER}: header lacks {exc} (not written by this laconic?)") from exc
    if deleted.size != len(ids):
        raise IndexFormatError(f"{path / 'deleted.npy'}: {deleted.size} entries for {len(ids)} ids")
    for seg in segments:
        if seg.arrays["term_ptr"].size != vocab_size + 1:
            raise IndexFormatError(f"{path}: segment term_ptr does not match vocab_size {vocab_size}")
    return dict(vocab_size=vocab_size, config=config, segments=segments, ids=ids, deleted=deleted, header=header)


def verify_index(path: str | Path) -> int:
    """Full check of every file's checksum; returns the number of files checked."""
    parts = read_index(path, verify=True)
    return len(parts["header"]["files"])
