"""Entry point of the ``laconic`` console script.

Each subcommand lives in its own module with a ``register(app)`` function; this
file only assembles them and turns :class:`LaconicError` into a one-line message
and exit status 2 (no traceback for bad input).
"""

from __future__ import annotations

import importlib
import sys

import typer

from laconic.errors import LaconicError

# Subcommand modules, in the order ``laconic --help`` lists them.
_COMMANDS = ("encode", "index", "search", "train", "merge", "mine", "eval", "serve", "export", "bm25", "convert", "demo")

app = typer.Typer(
    name="laconic",
    help="Learned sparse retrieval with LLMs: encode, index, search, train, evaluate, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for _name in _COMMANDS:
    importlib.import_module(f"laconic.cli.{_name}").register(app)


def main() -> None:
    """Run the CLI; user errors exit with status 2 and one line on stderr."""
    try:
        app()
    except LaconicError as exc:
        print(f"laconic: error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
