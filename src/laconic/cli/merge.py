"""`laconic merge`: fold a run's LoRA adapters into the base weights -> a plain encoder checkpoint."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``laconic merge``."""

    @app.command("merge")
    def merge(
        run_dir: str = typer.Argument(..., help="Training run directory (holds training_config.json and final/)."),
        output: str = typer.Option(..., "--output", "-o", help="Directory for the merged encoder (written atomically)."),
        checkpoint: Optional[str] = typer.Option(None, "--checkpoint", help="Merge this checkpoint dir instead of final/."),
    ) -> None:
        """Merge LoRA into the weights; the result loads with SparseEncoder.from_pretrained
        and keeps the encoder settings (bidirectional attention, max terms).

        Example: laconic merge runs/p1 --output runs/p1-merged
        """
        from laconic.training.adapters import merge_run

        path = merge_run(run_dir, output, checkpoint)
        typer.echo(f"merged encoder written to {path}")
