"""Every training config in `experiments/` loads and validates, and every one `run_all.sh` names exists.

A typo in a recipe only surfaces tens of minutes into `make model`; these checks catch it in CI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from laconic.training.config import TrainingConfig

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
CONFIGS = sorted((EXPERIMENTS / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_loads_and_validates(path):
    config = TrainingConfig.load(path).merged({"model": "any/base"})
    config.validate()
    assert config.train_data, f"{path.name} names no train_data"


def test_every_config_run_all_names_exists():
    script = (EXPERIMENTS / "run_all.sh").read_text()
    named = set(re.findall(r"experiments/configs/([\w.-]+\.yaml)", script))
    assert named, "run_all.sh names no config (did the recipe format change?)"
    missing = sorted(n for n in named if not (EXPERIMENTS / "configs" / n).is_file())
    assert not missing, f"run_all.sh names configs that do not exist: {missing}"
