"""Cache the demo's index so a second ``laconic demo`` skips re-encoding the corpus.

Encoding SciFact (5,183 abstracts) is the only slow step of the demo on a CPU;
the index it produces depends only on the model files, the corpus file and the
document subset, so those (paths, sizes, modification times) form the key.
The cache lives in ``$XDG_CACHE_HOME/laconic/demo`` (``~/.cache`` by default)
and is written atomically by ``SparseIndex.save``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "laconic" / "demo"


def _stamp(path: Path) -> list:
    """(name, size, mtime) of a file, or of every file in a directory."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [[str(p.resolve()), p.stat().st_size, int(p.stat().st_mtime)] for p in files]


def cache_key(model: Path, corpus: Path, doc_ids: list[str]) -> str:
    """A digest of what the index depends on."""
    corpus_file = corpus / "corpus.jsonl" if corpus.is_dir() else corpus
    payload = {
        "model": _stamp(Path(model)),
        "corpus": _stamp(corpus_file),
        "docs": hashlib.sha256("\n".join(doc_ids).encode()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]
