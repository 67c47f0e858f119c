"""Training records: phase-1 pairs and phase-2 Tevatron groups, read lazily, validated loudly.

Accepted row layouts (one JSON object per line, a Parquet row, or a row of a
Hugging Face dataset):

| layout | query field | positive field | negatives field |
|---|---|---|---|
| pairs | ``query`` or ``anchor`` | ``document`` or ``positive`` (text or {title, text}) | ``negative`` (optional) |
| Tevatron | ``query`` | ``positive_passages``: [{docid, title, text}] | ``negative_passages`` |

JSONL files are never loaded whole: one pass records each row's byte offset
(and validates the rows when the file is under ``FULL_CHECK_BYTES``; larger
files check their first ``PARTIAL_CHECK_ROWS`` rows up front and the rest as
they are read). Errors are :class:`~laconic.errors.InputError` naming file,
row and field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import InputError

FULL_CHECK_BYTES = 512 * 1024 * 1024  # validate every row of files up to this size at open
PARTIAL_CHECK_ROWS = 10_000  # rows validated at open for bigger files

_QUERY_FIELDS = ("query", "anchor")
_POSITIVE_FIELDS = ("positive_passages", "document", "positive")
_NEGATIVE_FIELDS = ("negative_passages", "negative")


@dataclass
class Example:
    """One training query with its positives and (possibly no) hard negatives."""

    query: str
    positives: list[dict[str, str]]  # [{"title": ..., "text": ...}], at least one
    negatives: list[dict[str, str]]  # may be empty (phase 1)


def _passage(value: Any, *, source: str, row: int, name: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"title": "", "text": value}
    if isinstance(value, dict):
        text = value.get("text")
        title = value.get("title") or ""
        if not isinstance(text, str):
            raise InputError("passage needs a string 'text'", path=source, line=row, field=name)
        if not isinstance(title, str):
            raise InputError("passage 'title' must be a string", path=source, line=row, field=name)
        return {"title": title, "text": text}
    raise InputError(f"expected a passage (string or {{title, text}}), got {type(value).__name__}",
                     path=source, line=row, field=name)


def _passages(value: Any, *, source: str, row: int, name: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, (str, dict))):
        items = list(value)
        return [_passage(v, source=source, row=row, name=f"{name}[{i}]") for i, v in enumerate(items)]
    return [_passage(value, source=source, row=row, name=name)]


def parse_example(record: Any, *, source: str, row: int) -> Example:
    """Normalise one row to an :class:`Example`; ``row`` is 1-based (the JSONL line)."""
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}", path=source, line=row)
    qkey = next((k for k in _QUERY_FIELDS if k in record), None)
    if qkey is None:
        raise InputError("missing query (expected 'query' or 'anchor')", path=source, line=row, field="query")
    query = record[qkey]
    if not isinstance(query, str) or not query.strip():
        raise InputError("query must be a non-empty string", path=source, line=row, field=qkey)
    pkey = next((k for k in _POSITIVE_FIELDS if k in record), None)
    if pkey is None:
        raise InputError("missing positive (expected 'positive_passages', 'document' or 'positive')",
                         path=source, line=row, field="positive_passages")
    positives = _passages(record[pkey], source=source, row=row, name=pkey)
    if not positives:
        raise InputError("needs at least one positive passage", path=source, line=row, field=pkey)
    nkey = next((k for k in _NEGATIVE_FIELDS if k in record), None)
    negatives = _passages(record[nkey], source=source, row=row, name=nkey) if nkey else []
    return Example(query=query, positives=positives, negatives=negatives)


class JsonlRecords:
    """Random access to a JSONL file through a byte-offset table (the file stays on disk)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("training data file not found", path=self.path)
        size = self.path.stat().st_size
        offsets: list[int] = []
        lines: list[int] = []
        check_all = size <= FULL_CHECK_BYTES
        with self.path.open("rb") as fh:
            pos = 0
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    offsets.append(pos)
                    lines.append(lineno)
                    if check_all or len(offsets) <= PARTIAL_CHECK_ROWS:
                        self._parse(raw, lineno)
                pos += len(raw)
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._lines = np.asarray(lines, dtype=np.int64)
        self._fh = None

    def _parse(self, raw: bytes, lineno: int) -> Example:
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"not valid JSON ({exc.args[0] if exc.args else exc})", path=self.path, line=lineno) from None
        return parse_example(record, source=str(self.path), row=lineno)

    def __len__(self) -> int:
        return len(self._offsets)

    def __getitem__(self, i: int) -> Example:
        if self._fh is None:  # opened lazily so the object pickles into DataLoader workers
            self._fh = self.path.open("rb")
        self._fh.seek(int(self._offsets[i]))
        return self._parse(self._fh.readline(), int(self._lines[i]))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_fh": None}


class ArrowRecords:
    """Rows of a memory-mapped Arrow table (Parquet file or Hugging Face dataset)."""

    def __init__(self, dataset: Any, source: str) -> None:
        self.dataset = dataset
        self.source = source
        for i in range(min(len(dataset), PARTIAL_CHECK_ROWS)):
            self[i]

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Example:
        return parse_example(dict(self.dataset[int(i)]), source=self.source, row=int(i) + 1)


def open_records(source: str | Path, split: str = "train") -> JsonlRecords | ArrowRecords:
    """Open training data: ``*.jsonl``/``*.json``, ``*.parquet``, a saved dataset dir, or a HF dataset name."""
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json") or (path.is_file() and suffix not in (".parquet", ".pq")):
        records: Any = JsonlRecords(path)
    elif suffix in (".parquet", ".pq"):
        if not path.is_file():
            raise InputError("training data file not found", path=path)
        import datasets

        records = ArrowRecords(datasets.Dataset.from_parquet(str(path)), str(path))
    else:
        import datasets

        try:
            if path.is_dir():
                ds = datasets.load_from_disk(str(path))
                ds = ds[split] if isinstance(ds, datasets.DatasetDict) else ds
            else:
                ds = datasets.load_dataset(str(source), split=split)
        except Exception as exc:  # the datasets library raises many kinds; report one clear error
            raise InputError(f"cannot open training data as a dataset ({exc})", path=str(source)) from None
        records = ArrowRecords(ds, str(source))
    if len(records) == 0:
        raise InputError("training data has no rows", path=str(source))
    return records


def sample_group(example: Example, n: int, rng: np.random.Generator) -> list[dict[str, str]]:
    """One positive then ``n - 1`` negatives (without replacement when there are enough).

    With no negatives and ``n > 1`` the group cannot be built; the caller names the row.
    """
    group = [example.positives[int(rng.integers(len(example.positives)))]]
    if n > 1:
        negs = example.negatives
        if not negs:
            raise ValueError(f"needs hard negatives for passages_per_query={n}")
        replace = len(negs) < n - 1
        picks = rng.choice(len(negs), size=n - 1, replace=replace)
        group.extend(negs[int(j)] for j in picks)
    return group


def epoch_order(num_rows: int, seed: int, epoch: int) -> np.ndarray:
    """The row order of one epoch: a permutation seeded by (seed, epoch), so resume can replay it."""
    return np.random.default_rng([seed, epoch]).permutation(num_rows)


def batches_per_epoch(num_rows: int, global_batch: int) -> int:
    """Full global batches per epoch (the last partial one is dropped: every step has the same shape)."""
    return num_rows // global_batch
