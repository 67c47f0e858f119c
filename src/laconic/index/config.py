"""Typed knobs: build-time (saved with the index) apart from query-time.

Every field is documented in docs/knobs.md with its effect and good ranges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from laconic.errors import ConfigError

WEIGHT_BITS = (8, 16, 32)
MAX_BLOCK_SIZE = 128  # positions inside a block are stored as u8
MAX_SEGMENT_BLOCKS = 65_535  # block ids inside a segment are stored as u16
REORDERS = ("seeds", "bp", "terms", "none")
STORAGES = ("blocks", "compact")


@dataclass(frozen=True)
class BuildConfig:
    """How an index is built (stored in its header, reused by ``add`` and ``compact``).

    Args:
        block_size: documents per block (1-128). Smaller blocks give tighter
            upper bounds but more (term, block) pairs; 64 measured best on
            synthetic learned-sparse vectors with ~150 terms per document
            (vs 32: 0.68 instead of 0.75 pairs per posting, 7% smaller, ~10% faster).
        weight_bits: 8 (u8 codes, default), 16 (u16 codes) or 32 (float32).
        reorder: ``"seeds"`` (default) groups documents around random seed
            documents, then by heaviest terms; ``"bp"`` refines that order by
            recursive graph bisection down to single blocks: measured at 200k
            documents, an index 11-15% smaller and search 1.4-1.6x faster, for
            a build 3.6-5.6x longer (docs/architecture-index.md, "Clustering"), so
            it suits collections built once and searched often; ``"terms"``
            only by heaviest terms; ``"none"`` keeps insertion order.
        shards: split the collection into at least this many segments so a
            single query can use several cores (1 = only as needed for size).
        max_segment_docs: upper limit on documents per segment (0 = the format's
            limit, 65,535 blocks).
        merge_factor: after ``add``, whenever the newest ``merge_factor``
            segments are of the same size class (sizes within a factor of
            ``merge_factor``), they are merged into one, dropping deleted
            documents (a log-structured merge policy: O(merge_factor x log N)
            segments after any number of adds). 0 never merges.
        storage: how ``save`` (and ``build_from_files``) write segments.
            ``"blocks"`` (default): the block layout's arrays, memory-mapped
            on open. ``"compact"``: the same index in about 63% of the bytes
            (3-byte pair entries, one-posting pairs inside their entry;
            docs/index-format.md), searched in place: less memory and disk,
            a slower open (checked entry by entry) and slower exact search;
            capped search runs about as fast (docs/BENCHMARKS.md, "Compact
            storage at speed"). Search results are identical either way.

    Example:
        >>> BuildConfig(block_size=64, weight_bits=16).weight_bits
        16
    """

    block_size: int = 64
    weight_bits: int = 8
    reorder: str = "seeds"
    shards: int = 1
    max_segment_docs: int = 0
    merge_factor: int = 10
    storage: str = "blocks"

    def __post_init__(self) -> None:
        if not 1 <= self.block_size <= MAX_BLOCK_SIZE:
            raise ConfigError(f"block_size must be in [1, {MAX_BLOCK_SIZE}], got {self.block_size}")
        if self.weight_bits not in WEIGHT_BITS:
            raise ConfigError(f"weight_bits must be one of {WEIGHT_BITS}, got {self.weight_bits}")
        if self.reorder not in REORDERS:
            raise ConfigError(f"reorder must be one of {', '.join(map(repr, REORDERS))}, got {self.reorder!r}")
        if self.shards < 1:
            raise ConfigError(f"shards must be >= 1, got {self.shards}")
        if self.max_segment_docs < 0:
            raise ConfigError(f"max_segment_docs must be >= 0, got {self.max_segment_docs}")
        if self.merge_factor == 1 or self.merge_factor < 0:
            raise ConfigError(f"merge_factor must be 0 (never merge) or >= 2, got {self.merge_factor}")
        if self.storage not in STORAGES:
            raise ConfigError(f"storage must be one of {', '.join(map(repr, STORAGES))}, got {self.storage!r}")

    @property
    def segment_docs(self) -> int:
        """Largest segment this config allows."""
        limit = MAX_SEGMENT_BLOCKS * self.block_size
        return min(limit, self.max_segment_docs) if self.max_segment_docs else limit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown BuildConfig fields: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class SearchParams:
    """Query-time knobs of ``mode="approximate"`` (exact mode ignores them).

    Args:
        alpha: visit a block only while ``alpha x upper bound >= k-th score``;
            1.0 is exact, lower is faster (0.9-1.0 useful; 0.95 kept
            recall@10 >= 0.99 on synthetic learned-sparse data).
        query_cut: for long queries (0 = off): a two-stage search that
            gathers ``candidates`` documents with the query's ``query_cut``
            heaviest terms, then rescores them with every term (returned
            scores are exact dot products). 48-64 keeps recall@10 >= 0.99 on
            300-term LACONIC-shaped queries (docs/BENCHMARKS.md). Each segment
            then keeps forward rows in RAM (8 bytes per posting), built on the
            first such query.
        candidates: documents rescored per segment under ``query_cut``
            (0 = 10 x k; never fewer than k).
        max_blocks: cap on blocks scored per segment per query (0 = none).

    Example:
        >>> SearchParams(alpha=0.8, query_cut=64).candidates
        0
    """

    alpha: float = 0.95
    query_cut: int = 0
    candidates: int = 0
    max_blocks: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ConfigError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.query_cut < 0:
            raise ConfigError(f"query_cut must be >= 0, got {self.query_cut}")
        if self.candidates < 0:
            raise ConfigError(f"candidates must be >= 0, got {self.candidates}")
        if self.max_blocks < 0:
            raise ConfigError(f"max_blocks must be >= 0, got {self.max_blocks}")
