"""``python -m laconic`` (also what ``accelerate launch -m laconic`` runs)."""

from laconic.cli.main import main

main()
