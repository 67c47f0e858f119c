"""numba kernels of the index: pure functions over arrays, one algorithm per file."""

from laconic.index.kernels.batch import (
    MODE_APPROXIMATE,
    MODE_EXACT,
    MODE_EXHAUSTIVE,
    finish_heaps,
    make_scratch,
    search_batch,
    search_single,
)
from laconic.index.kernels.dispatch import explain_docs
from laconic.index.kernels.build import (
    assign_to_seeds,
    count_pairs,
    count_terms,
    drop_zeros,
    heaviest_terms,
    scatter_postings,
    to_csr,
    write_pairs,
)

__all__ = [
    "MODE_APPROXIMATE",
    "MODE_EXACT",
    "MODE_EXHAUSTIVE",
    "assign_to_seeds",
    "count_pairs",
    "count_terms",
    "drop_zeros",
    "explain_docs",
    "finish_heaps",
    "heaviest_terms",
    "make_scratch",
    "search_batch",
    "scatter_postings",
    "search_single",
    "to_csr",
    "write_pairs",
]
