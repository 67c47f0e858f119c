"""Fixtures for the evaluation tests: a SciFact subset and the stand-in encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_standins import HashEncoder

from laconic.evaluation import BeirDataset, load_beir, write_beir


@pytest.fixture(scope="session")
def scifact_test(beir_dir) -> BeirDataset:
    return load_beir(beir_dir / "scifact", "test")


@pytest.fixture(scope="session")
def scifact_small(scifact_test) -> BeirDataset:
    """200 SciFact documents and the test queries whose positives are all inside."""
    return scifact_test.subset(200)


@pytest.fixture(scope="session")
def scifact_small_dir(scifact_small, tmp_path_factory) -> Path:
    return write_beir(scifact_small, tmp_path_factory.mktemp("beir") / "scifact-small")


@pytest.fixture()
def hash_encoder() -> HashEncoder:
    return HashEncoder()
