"""Index test fixtures: small random and "realistic" (Zipfian, topical) sparse vectors."""

from __future__ import annotations

import pytest
from index_oracle import random_vectors, zipf_topic_vectors


@pytest.fixture(scope="session")
def realistic():
    """(docs, queries) with the statistics of learned sparse vectors, small enough for CI."""
    docs = zipf_topic_vectors(3000, 2000, 60, seed=1)
    queries = zipf_topic_vectors(60, 2000, 15, seed=2)
    return docs, queries.with_ids([f"q{i}" for i in range(len(queries))])


@pytest.fixture(scope="session")
def small_random():
    return random_vectors(500, 200, 0.05, seed=3), random_vectors(25, 200, 0.05, seed=4, prefix="q")
