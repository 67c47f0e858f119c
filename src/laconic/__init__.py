"""laconic: learned sparse retrieval with LLMs (LACONIC encoders, CPU inverted index, training).

The public API is re-exported here. Names are resolved lazily so that
``import laconic`` stays cheap (no torch import until an encoder is used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "SparseVectors": "laconic.sparse",
    "LaconicError": "laconic.errors",
    "InputError": "laconic.errors",
    "IndexFormatError": "laconic.errors",
    "IndexCorruptError": "laconic.errors",
    "ConfigError": "laconic.errors",
    "SparseEncoder": "laconic.encoder",
    "EncoderConfig": "laconic.encoder",
    "SparseIndex": "laconic.index",
    "BuildConfig": "laconic.index",
    "SearchParams": "laconic.index",
    "SearchResults": "laconic.index",
    "TrainingConfig": "laconic.training",
    "train": "laconic.training",
    "evaluate": "laconic.evaluation",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'laconic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from laconic.encoder import EncoderConfig, SparseEncoder
    from laconic.errors import ConfigError, IndexCorruptError, IndexFormatError, InputError, LaconicError
    from laconic.evaluation import evaluate
    from laconic.index import BuildConfig, SearchParams, SearchResults, SparseIndex
    from laconic.sparse import SparseVectors
    from laconic.training import TrainingConfig, train
