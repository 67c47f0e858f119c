"""The served index and its versions: swap a new one in without dropping requests.

A request takes a *lease* on the current version once, at its start, and uses
that index object to the end; a swap only changes which object the next lease
returns. The old object stays alive (its memory maps stay valid even if its
directory was replaced on disk) until the last request holding it finishes, so
every request sees exactly one version and none is interrupted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IndexVersion:
    """One served index: a number that rises with every swap, the object, where it came from."""

    version: int
    index: Any
    path: str | None


class IndexRegistry:
    """Holds the current :class:`IndexVersion` and counts requests in flight per version.

    Args:
        index: the first index to serve (anything with the ``SparseIndex`` search contract).
        path: the directory it was opened from, if any (reused by :meth:`reload`).
        opener: path -> index, used by :meth:`reload`; default ``SparseIndex.open``.

    Example:
        >>> registry = IndexRegistry(SparseIndex.open("idx"), path="idx")
        >>> with registry.lease() as current:
        ...     current.index.search(queries, k=10)
        >>> registry.reload("idx-v2")  # later requests see the new index
    """

    def __init__(self, index: Any, path: str | Path | None = None, opener: Callable[[str], Any] | None = None):
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._current = IndexVersion(1, index, None if path is None else str(path))
        self._in_flight: dict[int, int] = {}
        self._opener = opener

    @property
    def current(self) -> IndexVersion:
        return self._current

    @contextlib.contextmanager
    def lease(self) -> Iterator[IndexVersion]:
        """The version this request will use from start to end."""
        with self._lock:
            held = self._current
            self._in_flight[held.version] = self._in_flight.get(held.version, 0) + 1
        try:
            yield held
        finally:
            with self._lock:
                left = self._in_flight[held.version] - 1
                if left:
                    self._in_flight[held.version] = left
                else:
                    del self._in_flight[held.version]

    def in_flight(self) -> dict[int, int]:
        """Requests in progress, per index version."""
        with self._lock:
            return dict(self._in_flight)

    def swap(self, index: Any, path: str | Path | None = None) -> IndexVersion:
        """Serve ``index`` from now on; returns the new version."""
        with self._lock:
            self._current = IndexVersion(self._current.version + 1, index, None if path is None else str(path))
            return self._current

    def reload(self, path: str | Path | None = None, validate: Callable[[Any], None] | None = None) -> IndexVersion:
        """Open ``path`` (default: the current path again) and swap it in.

        The open happens before the swap, so a broken directory raises here and
        the old version keeps serving. Concurrent reloads run one at a time.
        """
        with self._reload_lock:
            target = path if path is not None else self._current.path
            if target is None:
                raise ValueError("the served index was not opened from a path; give one to reload")
            index = self.open(str(target))
            if validate is not None:
                validate(index)
            return self.swap(index, target)

    def open(self, path: str) -> Any:
        """Open an index directory with the registry's opener."""
        if self._opener is not None:
            return self._opener(path)
        from laconic.index import SparseIndex

        return SparseIndex.open(path)
