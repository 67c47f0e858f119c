"""Checks an opened index must pass before any search runs on it.

Two layers, both on by default in :func:`laconic.index.format.read_index`:

1. **Checksums**: the CRC-32 of every array file against the header, computed
   over the memory map (catches any flipped byte or stale file; about 7 GB/s
   here, so ~0.15 s per GB).
2. **Invariants** (:mod:`laconic.index.kernels.check`): pointers monotone and
   consistent with the header, block ids and in-block positions within the
   segment, global orders in range and used once, float weights, levels and
   units finite, block bounds true upper bounds. A file that passes cannot make a kernel read or
   write out of bounds, however it was made, so a crafted file whose checksums
   were recomputed is refused just the same.

Every failure is an :class:`~laconic.errors.IndexCorruptError` naming the file.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np

from laconic.errors import IndexCorruptError
from laconic.index.kernels import check as C

_SEGMENT_MESSAGES = {
    C.TERM_PTR_START: ("term_ptr", "does not start at 0"),
    C.TERM_PTR_ORDER: ("term_ptr", "decreases"),
    C.TERM_PTR_END: ("term_ptr", "does not end at the number of (term, block) pairs"),
    C.PAIR_PTR_START: ("pair_off", "pair pointers do not start at 0"),
    C.PAIR_PTR_ORDER: ("pair_off", "pair pointers decrease"),
    C.PAIR_PTR_END: ("pair_off", "pair pointers do not end at the number of postings"),
    C.PAIR_BASE_BAD: ("pair_base", "anchor disagrees with the low 16 bits of its pair's pointer"),
    C.BLOCK_RANGE: ("term_blocks", "names a block past the segment's last"),
    C.BLOCK_ORDER: ("term_blocks", "block ids of a term are not increasing"),
    C.DOC_RANGE: ("post_doc", "position past the block's documents"),
    C.DOC_ORDER: ("post_doc", "positions of a (term, block) pair are not increasing"),
    C.BOUND_LOW: ("term_max", "block bound below a stored weight (exact search would miss documents)"),
    C.WEIGHT_BAD: ("post_w", "weight is negative, infinite or NaN"),
    C.LEVEL_BAD: ("levels", "bound level is negative, infinite or NaN"),
    C.UNIT_BAD: ("units", "weight unit is negative, infinite or NaN"),
    C.ORDER_RANGE: ("doc_order", "global order out of range"),
    C.ORDER_DUP: ("doc_order", "global order used twice"),
}


def crc32_array(file: Path, arr: np.ndarray) -> int:
    """CRC-32 of a ``.npy`` file's bytes, header included: over the memory map's backing buffer
    (no second read), or, for an empty array (numpy maps nothing), the file itself (a header only)."""
    mm = getattr(arr, "_mmap", None)
    return zlib.crc32(memoryview(mm)) if mm is not None else zlib.crc32(file.read_bytes())


def check_checksum(file: Path, arr: np.ndarray, expected: int) -> None:
    if crc32_array(file, arr) != expected:
        raise IndexCorruptError(f"{file}: checksum mismatch (the file was changed or damaged)")


def check_ids(path: Path, blob: np.ndarray, offsets: np.ndarray) -> None:
    """Offsets monotone and in range; the blob valid UTF-8 and every id starting on a character."""
    code, at = C.check_offsets(np.asarray(offsets), int(blob.size))
    if code:
        raise IndexCorruptError(f"{path / 'ids_offsets.npy'}: offsets invalid at entry {at}")
    try:
        memoryview(np.ascontiguousarray(blob)).tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IndexCorruptError(f"{path / 'ids_blob.npy'}: not UTF-8 at byte {exc.start}") from None
    starts = np.asarray(offsets[:-1])
    starts = starts[starts < blob.size]
    split = np.flatnonzero((np.asarray(blob)[starts] & 0xC0) == 0x80)
    if split.size:
        raise IndexCorruptError(f"{path / 'ids_offsets.npy'}: id {int(split[0])} starts inside a UTF-8 character")


def check_segment_shape(path: Path, meta: dict, doc_order: np.ndarray, levels: np.ndarray, units: np.ndarray) -> None:
    """What every segment must satisfy whatever its layout: block size, document count, block ids in 16 bits,
    256 finite bound levels and units. Raises :class:`IndexCorruptError` naming the file."""
    n_docs, block_size = int(meta["n_docs"]), int(meta["block_size"])
    where = path / meta["name"]
    if not 1 <= block_size <= 256:
        raise IndexCorruptError(f"{where}: block_size {block_size} outside 1..256")
    if n_docs < 0 or doc_order.size != n_docs:
        raise IndexCorruptError(f"{where / 'doc_order.npy'}: {doc_order.size} entries, header says {n_docs} documents")
    if math.ceil(n_docs / block_size) > 65536:
        raise IndexCorruptError(f"{where}: {n_docs} documents need more blocks than 16-bit block ids hold")
    if levels.size != 256 or units.size != 256:
        raise IndexCorruptError(f"{where}: levels.npy and units.npy must hold 256 entries each")
    code, at = C.check_levels(levels, units)
    if code:
        array, problem = _SEGMENT_MESSAGES[code]
        raise IndexCorruptError(f"{where / (array + '.npy')}: {problem} (entry {at})")


def check_orders(path: Path, meta: dict, doc_order: np.ndarray, seen: np.ndarray) -> None:
    """Global orders in range and used once across the index (``seen`` is shared by its segments)."""
    code, at = C.check_orders(doc_order, seen)
    if code:
        array, problem = _SEGMENT_MESSAGES[code]
        raise IndexCorruptError(f"{path / meta['name'] / (array + '.npy')}: {problem} (entry {at})")


def check_segment(path: Path, meta: dict, arrays: dict[str, np.ndarray], seen: np.ndarray) -> None:
    """Raise :class:`IndexCorruptError` unless a block-layout segment's arrays satisfy every kernel invariant.

    (A compact segment is held to the same invariants by ``compact.unpack``.)
    """
    check_segment_shape(path, meta, arrays["doc_order"], arrays["levels"], arrays["units"])
    n_docs, block_size = int(meta["n_docs"]), int(meta["block_size"])
    if n_docs == 0:
        return
    code, at = C.check_segment(
        arrays["term_ptr"], arrays["term_blocks"], arrays["term_max"], arrays["pair_off"], arrays["pair_base"],
        arrays["post_doc"], arrays["post_w"], arrays["doc_order"], arrays["levels"], arrays["units"], n_docs, block_size,
        arrays["post_w"].dtype == np.float32, seen,
    )
    if code:
        array, problem = _SEGMENT_MESSAGES[code]
        raise IndexCorruptError(f"{path / meta['name'] / (array + '.npy')}: {problem} (entry {at})")
