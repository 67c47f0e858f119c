"""``IdTable``: string document ids by global insertion order.

Stored as one UTF-8 blob plus int64 offsets so an opened index needs no
parsing: a search decodes only the ids it returns. The id -> order dictionary
(needed by ``delete`` and ``explain`` only) is built on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class IdTable:
    """Immutable ids; ``appended`` returns a new table (copy-on-write friendly).

    Args:
        blob: uint8 UTF-8 bytes of all ids back to back.
        offsets: int64 (n + 1,) start of each id in ``blob``.
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets
        self._lookup: dict[str, int] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_list(cls, ids: Sequence[str]) -> IdTable:
        encoded = [str(i).encode("utf-8") for i in ids]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        blob = np.frombuffer(b"".join(encoded), np.uint8).copy()
        return cls(blob, offsets)

    def __len__(self) -> int:
        return self.offsets.size - 1

    def get(self, order: int) -> str:
        a, b = self.offsets[order], self.offsets[order + 1]
        return self.blob[a:b].tobytes().decode("utf-8")

    def many(self, orders: np.ndarray) -> list[str]:
        """Ids of the given orders (decodes only those)."""
        blob, off = self.blob, self.offsets
        return [blob[off[o] : off[o + 1]].tobytes().decode("utf-8") for o in orders.tolist()]

    def to_list(self) -> list[str]:
        return self.many(np.arange(len(self)))

    def lookup(self) -> dict[str, int]:
        """``{id: order}``; with repeated ids (re-added after delete) the latest wins."""
        if self._lookup is None:
            with self._lock:
                if self._lookup is None:
                    self._lookup = {s: i for i, s in enumerate(self.to_list())}
        return self._lookup

    def appended(self, ids: Sequence[str]) -> IdTable:
        more = IdTable.from_list(ids)
        blob = np.concatenate([self.blob, more.blob])
        offsets = np.concatenate([self.offsets, more.offsets[1:] + self.offsets[-1]])
        return IdTable(blob, offsets)
