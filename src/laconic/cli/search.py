"""`laconic search`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this subcommand to the CLI (filled in by the owning module's work)."""
