"""Per-step metrics: always ``metrics.jsonl`` in the run directory; TensorBoard / W&B when installed.

Neither tracker is a dependency: ``report_to="auto"`` uses whichever is
importable and silently skips the others; naming one that is missing raises a
clear :class:`~laconic.errors.ConfigError`.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from laconic.errors import ConfigError


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class MetricsLogger:
    """Append one JSON object per logged step to ``metrics.jsonl`` (flushed each line).

    Args:
        run_dir: the run's output directory.
        report_to: ``auto``, ``none`` or a comma list of ``tensorboard``/``wandb``.
        config: the resolved config (sent to W&B).
        append: keep existing lines (resume) instead of starting a new file.
    """

    def __init__(self, run_dir: str | Path, report_to: str = "auto", config: dict | None = None, append: bool = False) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a" if append else "w", encoding="utf-8")
        self._tb = None
        self._wandb = None
        wanted = {s.strip() for s in report_to.split(",") if s.strip()}
        if wanted <= {"auto"}:
            wanted = {name for name, mod in (("tensorboard", "tensorboard"), ("wandb", "wandb")) if _installed(mod)}
            # W&B needs a login or offline mode; "auto" only uses it when the user configured it.
            if "wandb" in wanted:
                import os

                if not (os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE")):
                    wanted.discard("wandb")
        wanted.discard("none")
        unknown = wanted - {"tensorboard", "wandb"}
        if unknown:
            raise ConfigError(f"report_to: unknown tracker(s) {sorted(unknown)} (use auto, none, tensorboard, wandb)")
        if "tensorboard" in wanted:
            if not _installed("tensorboard"):
                raise ConfigError("report_to=tensorboard but the 'tensorboard' package is not installed")
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
        if "wandb" in wanted:
            if not _installed("wandb"):
                raise ConfigError("report_to=wandb but the 'wandb' package is not installed")
            import wandb

            self._wandb = wandb.init(project="laconic", dir=str(run_dir), config=config or {}, resume="allow")

    def log(self, step: int, values: dict[str, Any]) -> None:
        record = {"step": step, **values}
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self._tb.add_scalar(f"train/{key}", value, step)
        if self._wandb is not None:
            self._wandb.log({f"train/{k}": v for k, v in values.items()}, step=step)

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The logged records of a run, in order."""
    path = Path(run_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
