"""On-disk format: a directory of plain ``.npy`` arrays plus ``header.json``.

The byte-level spec is docs/index-format.md. Writes go through
``laconic.storage.atomic_directory`` (a killed save leaves the previous index
intact). Opening checks the header, every file's presence, size and ``.npy``
dtype/shape, every file's CRC-32 (``checksums=False`` skips only that, for
indexes far larger than RAM) and every structural invariant the kernels rely
on (``validate.py``), so no search ever runs on a damaged or crafted index.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import IndexCorruptError, IndexFormatError
from laconic.index import compact, validate
from laconic.index.config import STORAGES, BuildConfig
from laconic.index.ids import IdTable
from laconic.index.kernels.pairs import from_pointers, n_anchors
from laconic.index.segment import (
    ARRAYS,
    DTYPES,
    WEIGHT_DTYPES,
    Quantiser,
    Segment,
    SourceFile,
)
from laconic.storage import atomic_directory

FORMAT_NAME = "laconic.index"
FORMAT_VERSION = 4
# version 1: one linear scale per segment, no levels/units files; versions 1-2: u32 pair_ptr, no pair_off/pair_base;
# version 4: each segment's header entry names its layout, "blocks" (version 3's arrays) or "compact"
READABLE_VERSIONS = (1, 2, 3, 4)
# what versions 1 and 2 stored per segment (version 1: the first seven)
_V2_ARRAYS = ("term_ptr", "term_blocks", "term_max", "pair_ptr", "post_doc", "post_w", "doc_order", "levels", "units")
HEADER = "header.json"
_CHUNK = 1 << 22


def crc32_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


class IndexWriter:
    """Fills an index directory (a temporary one, inside ``atomic_directory``) piece by piece.

    ``add_segment`` writes one segment's arrays as it comes, so a build that
    streams shards never holds more than one shard's segments in memory. A
    segment read from an index file that is still the one it was mapped from is
    **hard-linked**, not rewritten: saving an index after ``add``/``delete``
    writes only the new segments, ids and tombstones.

    ``storage`` (``BuildConfig.storage``) picks each segment's layout: ``"compact"``
    packs it (``index/compact.py``) unless its global orders pass 32 bits.
    """

    def __init__(self, root: Path, storage: str = "blocks") -> None:
        self.root = Path(root)
        self.storage = storage
        self.files: dict[str, dict[str, Any]] = {}
        self.segments: list[dict[str, Any]] = []
        self.linked_bytes = 0

    def put(self, rel: str, arr: np.ndarray) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, np.ascontiguousarray(arr), allow_pickle=False)
        self.files[rel] = {
            "dtype": np.dtype(arr.dtype).str,
            "shape": list(arr.shape),
            "bytes": target.stat().st_size,
            "crc32": crc32_file(target),
        }

    def _link(self, rel: str, source: SourceFile | None) -> bool:
        """Hard-link ``source`` as ``rel`` if it is still the very file that was mapped."""
        if source is None:
            return False
        try:
            st = source.path.stat()
            if (st.st_dev, st.st_ino, st.st_size) != (source.device, source.inode, source.spec["bytes"]):
                return False  # replaced since it was opened: write from memory instead
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source.path, target)
        except OSError:  # another file system, or links not supported
            return False
        self.files[rel] = dict(source.spec)
        self.linked_bytes += int(source.spec["bytes"])
        return True

    def add_segment(self, seg: Segment) -> None:
        name = f"seg-{len(self.segments):04d}"
        layout = "compact" if self.storage == "compact" and compact.can_pack(seg) else "blocks"
        sources = seg.sources if seg.layout == layout else {}
        arrays: dict[str, np.ndarray] | None = None  # packed or decoded only if some file must be written
        for arr_name in compact.COMPACT_ARRAYS if layout == "compact" else ARRAYS:
            rel = f"{name}/{arr_name}.npy"
            if self._link(rel, sources.get(arr_name)):
                continue
            if arrays is None:
                arrays = compact.pack(seg) if layout == "compact" else seg.block_arrays()
            self.put(rel, arrays[arr_name])
        self.segments.append({
            "name": name, "n_docs": seg.n_docs, "block_size": seg.block_size, "weight_bits": seg.quant.bits,
            "layout": layout,
        })

    def finish(self, *, vocab_size: int, config: BuildConfig, ids: IdTable, deleted: np.ndarray) -> None:
        """Write the ids, tombstones and the header (last: it lists every file)."""
        self.put("ids_blob.npy", ids.blob)
        self.put("ids_offsets.npy", ids.offsets)
        self.put("deleted.npy", deleted)
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "vocab_size": int(vocab_size),
            "config": config.to_dict(),
            "n_total": len(ids),
            "n_live": int(len(ids) - deleted.sum()),
            "segments": self.segments,
            "files": self.files,
        }
        (self.root / HEADER).write_text(json.dumps(header, indent=1), encoding="utf-8")


def write_index(
    path: str | Path,
    *,
    vocab_size: int,
    config: BuildConfig,
    segments: list[Segment],
    ids: IdTable,
    deleted: np.ndarray,
) -> int:
    """Write a complete index directory atomically; returns the bytes hard-linked rather than written."""
    with atomic_directory(path) as tmp:
        writer = IndexWriter(tmp, config.storage)
        for seg in segments:
            writer.add_segment(seg)
        writer.finish(vocab_size=vocab_size, config=config, ids=ids, deleted=deleted)
    return writer.linked_bytes


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
    if header.get("version") not in READABLE_VERSIONS:
        raise IndexFormatError(
            f"{head}: index format version {header.get('version')!r}; this laconic reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} (rebuild the index with this version: laconic index build)"
        )
    return header


def _load_array(
    path: Path, rel: str, spec: Any, checksums: bool, dtype: Any = None
) -> tuple[np.ndarray, SourceFile | None]:
    file = path / rel
    if not isinstance(spec, dict) or not {"bytes", "crc32", "dtype", "shape"} <= set(spec):
        raise IndexFormatError(f"{path / HEADER}: no valid entry for {rel}")
    if not file.is_file():
        raise IndexFormatError(f"{file}: missing index file")
    before = file.stat()
    size = before.st_size
    if size != spec["bytes"]:
        raise IndexCorruptError(f"{file}: size {size} bytes, header says {spec['bytes']} (truncated or replaced)")
    try:
        # copy-on-write map: shares the page cache, and numba sees ordinary writable arrays
        arr = np.load(file, mmap_mode="c", allow_pickle=False)
    except Exception as exc:  # numpy's header parser raises whatever a damaged header provokes (even TokenError)
        raise IndexCorruptError(f"{file}: unreadable array ({exc})") from exc
    if np.dtype(arr.dtype).str != spec["dtype"] or list(arr.shape) != spec["shape"] or arr.ndim != 1:
        raise IndexCorruptError(f"{file}: array {arr.dtype}{list(arr.shape)}, header says {spec['dtype']}{spec['shape']}")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise IndexCorruptError(f"{file}: dtype {arr.dtype}, the format stores {np.dtype(dtype)}")
    if checksums:
        validate.check_checksum(file, arr, spec["crc32"])
    return arr, _source(file, spec, before)


def _source(file: Path, spec: dict[str, Any], before: os.stat_result) -> SourceFile | None:
    """Where a mapped array came from, so a later save can hard-link it (None: it changed while mapping)."""
    after = file.stat()
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        return None
    return SourceFile(file, dict(spec), after.st_dev, after.st_ino)


def read_index(path: str | Path, verify: bool = False, checksums: bool = True) -> dict[str, Any]:
    """Open an index directory memory-mapped and check it; returns its parts.

    Args:
        verify: kept for callers of version 1's API: every open is now the full check.
        checksums: compare every file's CRC-32 with the header (default). ``False``
            skips only that (an index far larger than RAM opens without reading every
            page); the structural checks still run, so no file can crash a search.

    Raises:
        IndexFormatError: not an index, or of another version.
        IndexCorruptError: truncated, damaged or inconsistent; the message names the file.
    """
    path = Path(path)
    header = read_header(path)
    checksums = checksums or verify
    try:
        files = header["files"]
        config = BuildConfig.from_dict(header["config"])
        vocab_size = int(header["vocab_size"])

        sources: dict[str, SourceFile | None] = {}

        def load(rel: str, dtype: Any = None) -> np.ndarray:
            if rel not in files:
                raise IndexFormatError(f"{path / HEADER}: lists no file {rel}")
            arr, sources[rel] = _load_array(path, rel, files[rel], checksums, dtype)
            return arr

        ids = IdTable(load("ids_blob.npy", np.uint8), load("ids_offsets.npy", np.int64))
        deleted = np.array(load("deleted.npy", np.bool_), dtype=bool)
        if deleted.size != len(ids):
            raise IndexCorruptError(f"{path / 'deleted.npy'}: {deleted.size} entries for {len(ids)} ids")
        validate.check_ids(path, ids.blob, ids.offsets)
        if int(header["n_total"]) != len(ids) or int(header["n_live"]) != len(ids) - int(deleted.sum()):
            raise IndexCorruptError(f"{path / HEADER}: document counts disagree with ids_offsets.npy / deleted.npy")
        seen = np.zeros(len(ids), dtype=np.bool_)
        segments = []
        version = header["version"]
        for meta in header["segments"]:
            bits = int(meta["weight_bits"])
            if bits not in WEIGHT_DTYPES:
                raise IndexCorruptError(f"{path / HEADER}: segment {meta['name']}: weight_bits {bits}")
            layout = meta.get("layout", "blocks") if version >= 4 else "blocks"
            if layout not in STORAGES:
                raise IndexFormatError(f"{path / HEADER}: segment {meta['name']}: unknown layout {layout!r}")
            if layout == "compact":
                segments.append(_open_compact(path, meta, bits, vocab_size, load, sources, seen))
                continue
            names = ARRAYS if version >= 3 else _V2_ARRAYS if version == 2 else _V2_ARRAYS[:7]
            arrays = {name: load(f"{meta['name']}/{name}.npy", _stored_dtype(name, bits)) for name in names}
            if version < 3:
                _split_pair_pointers(path / meta["name"], arrays)
            if version == 1:
                quant = _version1_quantiser(path, meta, bits)
                arrays.update(levels=quant.levels, units=quant.units)
            else:
                quant = Quantiser(bits, arrays["levels"], arrays["units"])
            if arrays["term_ptr"].size != vocab_size + 1:
                raise IndexCorruptError(f"{path / meta['name'] / 'term_ptr.npy'}: does not match vocab_size {vocab_size}")
            n_pairs, n_post = arrays["term_blocks"].size, arrays["post_doc"].size
            if (arrays["term_max"].size != n_pairs or arrays["pair_off"].size != n_pairs + 1
                    or arrays["pair_base"].size != n_anchors(n_pairs) or arrays["post_w"].size != n_post):
                raise IndexCorruptError(f"{path / meta['name']}: array lengths disagree (pairs, anchors, postings)")
            validate.check_segment(path, meta, arrays, seen)
            mapped = {name: sources.get(f"{meta['name']}/{name}.npy") for name in ARRAYS}
            segments.append(Segment(arrays, int(meta["n_docs"]), int(meta["block_size"]), quant, mapped, layout))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, IndexFormatError):
            raise
        raise IndexFormatError(f"{path / HEADER}: malformed header ({type(exc).__name__}: {exc})") from exc
    return dict(vocab_size=vocab_size, config=config, segments=segments, ids=ids, deleted=deleted, header=header)


def _open_compact(path: Path, meta: dict, bits: int, vocab_size: int, load: Callable[[str, Any], np.ndarray],
                  sources: dict[str, SourceFile | None], seen: np.ndarray) -> Segment:
    """A compact segment, checked in one pass over its entries and searched in place (no decoded copy)."""
    name = meta["name"]
    stored = {a: load(f"{name}/{a}.npy", compact.dtype_of(a, bits)) for a in compact.COMPACT_ARRAYS}
    if stored["term_ptr"].size != vocab_size + 1:
        raise IndexCorruptError(f"{path / name / 'term_ptr.npy'}: does not match vocab_size {vocab_size}")
    validate.check_segment_shape(path, meta, stored["doc_order"], stored["levels"], stored["units"])
    n_docs, block_size = int(meta["n_docs"]), int(meta["block_size"])
    _, in_place = compact.unpack(path / name, stored, bits, block_size, n_docs, decode=False)
    validate.check_orders(path, meta, stored["doc_order"], seen)
    mapped = {a: sources.get(f"{name}/{a}.npy") for a in compact.COMPACT_ARRAYS}
    return Segment({**stored, **in_place}, n_docs, block_size, Quantiser(bits, stored["levels"], stored["units"]),
                   mapped, "compact")


def _stored_dtype(name: str, bits: int) -> Any:
    return WEIGHT_DTYPES[bits] if name == "post_w" else np.uint32 if name == "pair_ptr" else DTYPES[name]


def _split_pair_pointers(where: Path, arrays: dict[str, np.ndarray]) -> None:
    """Versions 1-2 kept a u32 pointer per pair: derive version 3's offsets and anchors in RAM
    (2 bytes per pair; the index searches as before, and ``save`` writes version 4)."""
    ptr = arrays.pop("pair_ptr")
    if ptr.size != arrays["term_blocks"].size + 1:
        raise IndexCorruptError(f"{where / 'pair_ptr.npy'}: {ptr.size} pointers for {arrays['term_blocks'].size} pairs")
    try:
        arrays["pair_off"], arrays["pair_base"] = from_pointers(ptr)
    except ValueError as exc:
        raise IndexCorruptError(f"{where / 'pair_ptr.npy'}: {exc}") from None


def _version1_quantiser(path: Path, meta: dict[str, Any], bits: int) -> Quantiser:
    """Version 1 kept one linear ``scale`` and ``bound_scale`` per segment in the header."""
    scale, bound_scale = float(meta["scale"]), float(meta["bound_scale"])
    if not all(math.isfinite(v) and v > 0 for v in (scale, bound_scale)):
        raise IndexCorruptError(f"{path / HEADER}: segment {meta['name']} has a non-positive or non-finite scale")
    return Quantiser.version1(bits, scale, bound_scale)


def verify_index(path: str | Path) -> int:
    """Full check of every file (checksums and invariants); returns the number of files checked."""
    parts = read_index(path, verify=True)
    return len(parts["header"]["files"])
