"""Where the demo looks for data and for the shipped model when none is given.

The repository layout puts the shared BEIR data next to the checkout
(``<repo>/../shared/data/beir``) and the shipped model in ``<repo>/models``.
We look relative to the current directory first (``make demo`` runs from the
repo root), then relative to this source file (editable installs).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL_NAME = "laconic-minilm"
_DATA_REL = Path("..") / "shared" / "data" / "beir" / "scifact"


def _roots() -> list[Path]:
    here = Path(__file__).resolve()
    # src/laconic/demo/locate.py -> parents[3] is the repository root of a source checkout.
    roots = [Path.cwd()]
    if len(here.parents) > 3:
        roots.append(here.parents[3])
    return roots


def default_dataset() -> Path | None:
    """``../shared/data/beir/scifact`` relative to the repo root, if it exists."""
    for root in _roots():
        candidate = (root / _DATA_REL).resolve()
        if (candidate / "corpus.jsonl").is_file():
            return candidate
    return None


def default_model() -> Path | None:
    """``models/laconic-minilm`` of the checkout, if it exists."""
    for root in _roots():
        candidate = root / "models" / DEFAULT_MODEL_NAME
        if (candidate / "config.json").is_file():
            return candidate.resolve()
    return None
