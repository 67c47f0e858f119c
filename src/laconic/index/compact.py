"""Compact segments: how a segment is stored when ``BuildConfig.storage == "compact"``.

A compact segment holds the same index as a block segment (decoding gives back
every array bit for bit) in about 63% of the bytes: pairs become 3-byte entries
and one-posting pairs carry their posting inside the entry (``kernels/compact.py``,
docs/index-format.md). It is searched in place (``kernels/compact_search.py``):
opening one reads it once, checking it against the block layout's invariants
without decoding it and deriving the small arrays in-place search needs (term
starts, skip anchors), and keeps only the memory-mapped entries and those.
Search results are identical to the block layout's; each step reads fewer
bytes but decodes gaps as it goes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from laconic.errors import IndexCorruptError
from laconic.index.kernels import compact as KC
from laconic.index.kernels.compact_search import SKIP
from laconic.index.kernels.pairs import n_anchors
from laconic.index.segment import DTYPES, WEIGHT_DTYPES, Segment

# name -> dtype of every array a compact segment stores ("post_w" depends on weight_bits)
COMPACT_ARRAYS = ("term_ptr", "ent_gap", "ent_code", "ent_x", "post_doc", "post_w", "doc_order", "levels", "units")
COMPACT_DTYPES = {
    "term_ptr": np.int64,
    "ent_gap": np.uint8,
    "ent_code": np.uint8,
    "ent_x": np.uint8,
    "post_doc": np.uint8,
    "doc_order": np.uint32,
    "levels": np.float32,
    "units": np.float32,
}
MAX_COMPACT_ORDER = np.iinfo(np.uint32).max  # global orders a compact doc_order holds
_MESSAGES = {
    KC.ENTRIES_SHORT: ("ent_gap", "entries end before term {at}'s pairs do"),
    KC.ENTRIES_LEFT: ("ent_gap", "entries left over after the last term (from entry {at})"),
    KC.POSTINGS_SHORT: ("post_doc", "entry {at} counts postings past the end of the stream"),
    KC.POSTINGS_LEFT: ("post_doc", "postings left over after the last entry (from posting {at})"),
    KC.BLOCK_RANGE: ("ent_gap", "entry {at} names a block outside the segment"),
    KC.SINGLE_BAD: ("ent_gap", "entry {at} holds a posting, which this segment's weights or block size rule out"),
    KC.TERM_PTR_ORDER: ("term_ptr", "decreases (entry {at})"),
    KC.BLOCK_ORDER: ("ent_gap", "entry {at} repeats its term's previous block"),
    KC.SINGLE_RANGE: ("ent_x", "entry {at} holds a position past its block's documents"),
    KC.BOUND_LOW: ("ent_code", "entry {at}'s block bound is below a stored weight (exact search would miss documents)"),
    KC.DOC_RANGE: ("post_doc", "position {at} is past its block's documents"),
    KC.DOC_ORDER: ("post_doc", "positions of a (term, block) pair are not increasing (posting {at})"),
    KC.WEIGHT_BAD: ("post_w", "weight {at} is negative, infinite or NaN"),
}


def inlines(weight_bits: int, block_size: int) -> bool:
    """Whether one-posting pairs go inside their entry (8-bit codes, 6-bit positions)."""
    return weight_bits == 8 and block_size <= KC.MAX_INLINE_BLOCK


def dtype_of(name: str, bits: int) -> np.dtype:
    """The dtype a compact segment stores array ``name`` in."""
    return np.dtype(WEIGHT_DTYPES[bits] if name == "post_w" else COMPACT_DTYPES[name])


def can_pack(seg: Segment) -> bool:
    """False only for a segment whose global orders pass 32 bits (stored in the block layout instead)."""
    order = seg.arrays["doc_order"]
    return order.size == 0 or int(np.max(order)) <= MAX_COMPACT_ORDER


def pack(seg: Segment) -> dict[str, np.ndarray]:
    """The compact arrays of a segment (``COMPACT_ARRAYS``), from its block-layout arrays."""
    if seg.layout == "compact":
        return {name: seg.arrays[name] for name in COMPACT_ARRAYS}
    a = seg.arrays
    args = (a["term_ptr"], a["term_blocks"], a["term_max"], a["pair_off"], a["pair_base"], a["post_doc"], a["post_w"],
            inlines(seg.quant.bits, seg.block_size))
    none = np.zeros(0, np.uint8)
    n_ent, n_post = KC.pack_pass(*args, none, none, none, none, np.zeros(0, a["post_w"].dtype), False)
    out = {name: np.empty(n_ent, np.uint8) for name in ("ent_gap", "ent_code", "ent_x")}
    out["post_doc"] = np.empty(n_post, np.uint8)
    out["post_w"] = np.empty(n_post, a["post_w"].dtype)
    KC.pack_pass(*args, out["ent_gap"], out["ent_code"], out["ent_x"], out["post_doc"], out["post_w"], True)
    out["term_ptr"] = np.asarray(a["term_ptr"])
    out["doc_order"] = np.asarray(a["doc_order"]).astype(np.uint32)
    out["levels"] = np.asarray(a["levels"])
    out["units"] = np.asarray(a["units"])
    return {name: out[name] for name in COMPACT_ARRAYS}


def unpack(
    where: Path, stored: dict[str, np.ndarray], bits: int, block_size: int, n_docs: int, decode: bool
) -> tuple[dict[str, np.ndarray] | None, dict[str, np.ndarray]]:
    """``(block arrays or None, in-place arrays)`` of compact segment ``where``; raises ``IndexCorruptError``
    naming the file.

    One pass checks the entries against every invariant a block segment is held
    to (``kernels/compact.py::unpack``) and derives the in-place arrays
    (``term_ent``, ``term_post``, ``anc_block``, ``anc_post``) that searching the
    entries needs besides ``stored``. With ``decode`` it also returns the block
    layout's arrays (for the rare paths that need them: ``decoded``); opening
    does not, so it never holds a second copy of the segment. The caller checks
    ``validate.check_segment_shape`` first (levels and units must be finite).
    """
    if not 1 <= block_size <= 256 or n_docs < 0:
        raise IndexCorruptError(f"{where}: block_size {block_size} or document count {n_docs} out of range")
    term_ptr, ent_gap = stored["term_ptr"], stored["ent_gap"]
    n_ent = ent_gap.size
    if stored["ent_code"].size != n_ent or stored["ent_x"].size != n_ent:
        raise IndexCorruptError(f"{where}: ent_gap.npy, ent_code.npy and ent_x.npy differ in length")
    if stored["post_w"].size != stored["post_doc"].size:
        raise IndexCorruptError(f"{where / 'post_w.npy'}: {stored['post_w'].size} weights for "
                                f"{stored['post_doc'].size} positions")
    n_pairs = int(term_ptr[-1]) if term_ptr.size else -1
    if term_ptr.size == 0 or int(term_ptr[0]) != 0 or not 0 <= n_pairs <= n_ent:
        raise IndexCorruptError(f"{where / 'term_ptr.npy'}: does not run from 0 to at most the {n_ent} entries")
    if decode:
        n_post = int(stored["post_doc"].size) + int(np.count_nonzero(np.asarray(ent_gap) & KC.SINGLE))
        out = {
            "term_blocks": np.empty(n_pairs, DTYPES["term_blocks"]),
            "term_max": np.empty(n_pairs, DTYPES["term_max"]),
            "pair_off": np.empty(n_pairs + 1, DTYPES["pair_off"]),
            "pair_base": np.empty(n_anchors(n_pairs), DTYPES["pair_base"]),
            "post_doc": np.empty(n_post, DTYPES["post_doc"]),
            "post_w": np.empty(n_post, WEIGHT_DTYPES[bits]),
        }
    else:
        none = np.zeros(0, np.uint8)
        out = {"term_blocks": np.zeros(0, DTYPES["term_blocks"]), "term_max": none,
               "pair_off": np.zeros(0, DTYPES["pair_off"]), "pair_base": np.zeros(0, DTYPES["pair_base"]),
               "post_doc": none, "post_w": np.zeros(0, WEIGHT_DTYPES[bits])}
    derived = {
        "term_ent": np.empty(term_ptr.size, np.int64),
        "term_post": np.empty(term_ptr.size, np.int64),
        "anc_block": np.zeros(n_ent // SKIP + 1, np.uint16),
        "anc_post": np.zeros(n_ent // SKIP + 1, np.uint32),
    }
    code, at = KC.unpack(
        term_ptr, ent_gap, stored["ent_code"], stored["ent_x"], stored["post_doc"], stored["post_w"],
        inlines(bits, block_size), bits == 32, n_docs, block_size, stored["levels"], stored["units"], decode,
        out["term_blocks"], out["term_max"], out["pair_off"], out["pair_base"], out["post_doc"], out["post_w"],
        derived["term_ent"], derived["term_post"], SKIP, derived["anc_block"], derived["anc_post"],
    )
    if code:
        array, problem = _MESSAGES[code]
        raise IndexCorruptError(f"{where / (array + '.npy')}: {problem.format(at=at)}")
    if not decode:
        return None, derived
    out["term_ptr"] = term_ptr
    out["doc_order"] = np.asarray(stored["doc_order"]).astype(np.int64)
    out["levels"] = stored["levels"]
    out["units"] = stored["units"]
    return out, derived


def decoded(seg: Segment) -> dict[str, np.ndarray]:
    """The block-layout arrays of a compact segment (a transient copy, for the rare paths that need them:
    forward rows, ``vectors()``, merges, saving as blocks)."""
    blocks, _ = unpack(Path("<memory>"), seg.arrays, seg.quant.bits, seg.block_size, seg.n_docs, decode=True)
    return blocks
