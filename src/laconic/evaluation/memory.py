"""Index memory: our sparse index against a float32 dense index of the backbone's width.

The paper's claim is "71% less index memory than an equivalent dense model":
a dense retriever on the same backbone stores ``n_docs x hidden`` float32
values. We report measured bytes of our index (in memory and on disk) next to
that figure, and the saving as a fraction.
"""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path
from typing import Any

__all__ = ["dense_index_bytes", "directory_bytes", "index_memory", "peak_rss_bytes"]

# Keys an index's ``stats()`` may use for its resident size, most specific first.
_STAT_KEYS = ("memory_bytes", "index_bytes", "nbytes", "bytes", "total_bytes", "size_bytes")


def dense_index_bytes(n_docs: int, hidden_size: int, bytes_per_value: int = 4) -> int:
    """Bytes of a flat dense index: one ``hidden_size`` float32 vector per document."""
    return int(n_docs) * int(hidden_size) * int(bytes_per_value)


def directory_bytes(path: str | Path) -> int:
    """Total size of the regular files under ``path`` (a saved index's on-disk size)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def stats_bytes(stats: dict[str, Any]) -> int | None:
    """The resident byte count from an index's ``stats()`` dict, if it reports one."""
    for key in _STAT_KEYS:
        value = stats.get(key)
        if isinstance(value, (int, float)) and value > 0:
            return int(value)
    return None


def index_memory(
    index_bytes: int | None,
    n_docs: int,
    hidden_size: int | None,
    *,
    disk_bytes: int | None = None,
) -> dict[str, Any]:
    """Memory figures for a report.

    Args:
        index_bytes: measured bytes of our index in memory (None: use ``disk_bytes``).
        n_docs: number of indexed documents.
        hidden_size: the backbone's hidden size (None: no dense comparison).
        disk_bytes: bytes of the saved index directory.

    Returns:
        ``index_bytes``, ``index_disk_bytes``, ``dense_float32_bytes``, ``dense_hidden_size``,
        ``saving_vs_dense`` (1 - ours/dense), ``bytes_per_doc`` and ``peak_rss_bytes``.

    Example:
        >>> index_memory(290, 10, 25)["saving_vs_dense"]
        0.71
    """
    ours = index_bytes if index_bytes is not None else disk_bytes
    out: dict[str, Any] = {
        "index_bytes": ours,
        "index_disk_bytes": disk_bytes,
        "bytes_per_doc": (ours / n_docs) if ours and n_docs else None,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if hidden_size:
        dense = dense_index_bytes(n_docs, hidden_size)
        out["dense_hidden_size"] = int(hidden_size)
        out["dense_float32_bytes"] = dense
        out["saving_vs_dense"] = round(1.0 - ours / dense, 6) if ours and dense else None
    return out
