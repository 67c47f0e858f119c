"""Readers for what ``laconic encode`` takes: BEIR JSONL corpora/queries or plain text.

Every problem raises :class:`~laconic.errors.InputError` naming the file, the
1-based line and the field, before any encoding starts, so a bad file never
leaves a partial output behind.

Formats:
    - ``beir`` corpus (``kind="documents"``): one JSON object per line with ``_id``
      (string or integer), ``text`` (string) and optional ``title``; each item is a
      ``{"title", "text"}`` mapping that the encoder's profile formats.
    - ``beir`` queries (``kind="queries"``): ``_id`` and ``text``.
    - ``text``: one item per non-blank line; its id is the 1-based line number.
    - ``auto``: ``beir`` for ``.jsonl``/``.json`` files, else ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from laconic.errors import InputError
from laconic.jsonl import iter_jsonl, iter_lines

FORMATS = ("auto", "beir", "text")
KINDS = ("documents", "queries")


@dataclass
class Items:
    """What to encode with its ids, in file order: query strings, or documents
    (``{"title", "text"}`` mappings from BEIR files, strings from text files)."""

    ids: list[str]
    records: list[Any]

    def __len__(self) -> int:
        return len(self.ids)


def _field(record: dict[str, Any], name: str, path: Path, line: int, *, required: bool = True) -> str:
    value = record.get(name)
    if value is None:
        if required:
            raise InputError("missing", path=path, line=line, field=name)
        return ""
    if name == "_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InputError(f"expected a string, got {type(value).__name__}", path=path, line=line, field=name)
    return value


def read_beir(path: Path, kind: str) -> Items:
    """Read a BEIR ``corpus.jsonl`` (documents) or ``queries.jsonl`` (queries)."""
    ids: list[str] = []
    records: list[Any] = []
    seen: dict[str, int] = {}
    for line, record in iter_jsonl(path):
        doc_id = _field(record, "_id", path, line)
        if doc_id in seen:
            raise InputError(f"duplicate id {doc_id!r} (first on line {seen[doc_id]})", path=path, line=line, field="_id")
        seen[doc_id] = line
        text = _field(record, "text", path, line)
        if kind == "documents":
            title = record.get("title")
            title = None if title is None else _field(record, "title", path, line)
            records.append({"title": title, "text": text})
        else:
            records.append(text)
        ids.append(doc_id)
    return Items(ids, records)


def read_text(path: Path) -> Items:
    """One item per non-blank line; ids are 1-based line numbers."""
    ids, texts = [], []
    for line, text in iter_lines(path):
        if text.strip():
            ids.append(str(line))
            texts.append(text)
    return Items(ids, texts)


def read_items(path: str | Path, kind: str = "documents", format: str = "auto") -> Items:
    """Read texts to encode; raises :class:`InputError` for a missing, empty or malformed file.

    Args:
        path: the input file.
        kind: ``"documents"`` or ``"queries"``.
        format: ``"auto"``, ``"beir"`` or ``"text"`` (see the module docstring).

    Example:
        >>> items = read_items("corpus.jsonl", "documents")  # doctest: +SKIP
        >>> items.ids[0], items.texts[0]  # doctest: +SKIP
    """
    path = Path(path)
    if kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS}, got {kind!r}")
    if format not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, got {format!r}")
    if not path.is_file():
        raise InputError("no such file", path=path)
    if format == "auto":
        format = "beir" if path.suffix.lower() in (".jsonl", ".json") else "text"
    items = read_beir(path, kind) if format == "beir" else read_text(path)
    if not items.ids:
        raise InputError(f"empty input: no {kind} found", path=path)
    return items
