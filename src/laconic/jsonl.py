"""Line and JSONL readers whose every error names the file and the 1-based line.

Shared by ``laconic encode`` inputs, the BEIR readers of evaluation and the
demo, so all of them report bad input the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from laconic.errors import InputError


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line_number, text)`` of each line, decoded as UTF-8 (a BOM is allowed; CRLF stripped)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open ({exc.strerror or exc})", path=path) from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid UTF-8 (byte {exc.start})", path=path, line=number) from exc
            yield number, line.rstrip("\r\n")


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line_number, object)`` of each non-blank JSONL line; anything but a JSON object is an error."""
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg} at column {exc.colno})", path=path, line=number) from exc
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, got {type(record).__name__}", path=path, line=number)
        yield number, record
