"""Exceptions raised by laconic.

Every error a user can cause by bad input is a :class:`LaconicError`; the CLI
turns those into a one-line message and exit status 2 instead of a traceback.
Input errors also subclass :class:`ValueError` so generic callers can catch them.
"""

from __future__ import annotations

from pathlib import Path


class LaconicError(Exception):
    """Base class of every error laconic raises on purpose."""


class InputError(LaconicError, ValueError):
    """Malformed user input; the message names the file, line and field.

    Args:
        problem: what is wrong, in a few words.
        path: the file that holds the bad input, if any.
        line: 1-based line (or row) number in that file, if known.
        field: the record field at fault, if any.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = ""
        if self.path is not None:
            where = self.path
            if line is not None:
                where += f":{line}"
            where += ": "
        what = f"field '{field}': " if field is not None else ""
        super().__init__(f"{where}{what}{problem}")


class IndexFormatError(LaconicError):
    """An index directory is missing, truncated, corrupted or of another version."""


class IndexCorruptError(IndexFormatError):
    """An index file's bytes or structure are wrong: a checksum mismatch or a broken invariant.

    The message names the file; no search runs on such an index.
    """


class ConfigError(LaconicError, ValueError):
    """An inconsistent or unknown configuration value."""


class UnknownDocumentError(LaconicError, LookupError):
    """A document id the index does not hold (never added, or deleted)."""


class StorageError(LaconicError, OSError):
    """A write failed (disk full, file too large, permissions); what was there before is unchanged."""
