"""Inverted index and CPU query processor (block-max, exact and approximate top-k)."""

from laconic.index.config import BuildConfig, SearchParams
from laconic.index.results import SearchResults
from laconic.index.sparse_index import SparseIndex

__all__ = ["BuildConfig", "SearchParams", "SearchResults", "SparseIndex"]
