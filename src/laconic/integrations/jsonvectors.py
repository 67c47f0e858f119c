"""Vectors as JSON lines: Anserini's ``JsonVectorCollection`` and Seismic's JSON input.

One line per document, ``{"id": ..., "contents": ..., "vector": {term: weight}}``.
Anserini indexes it with ``-collection JsonVectorCollection -impact -pretokenized``
(integer impacts: pass ``scale``, e.g. 100, to round ``weight x scale``); Seismic's
``SeismicIndex.build`` reads the same lines (it also accepts ``content``, written too).
Terms are strings: the model's token strings when a vocabulary is given (what
Anserini matches query tokens against), else the term id as text.

Reading goes the other way, with the same vocabulary; a term the vocabulary does
not know is an error naming the file, line and term, never a silent drop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from laconic.errors import InputError
from laconic.jsonl import iter_jsonl
from laconic.sparse import SparseVectors
from laconic.storage import atomic_file


def write_jsonl(vectors: SparseVectors, path: str | Path, *, terms: Sequence[str] | None = None,
                contents: Sequence[str] | None = None, scale: float | None = None) -> Path:
    """Write ``vectors`` (atomically) as JSON lines; ``scale`` turns weights into rounded integer impacts."""
    if terms is not None and len(terms) < vectors.vocab_size:
        raise InputError(f"the vocabulary has {len(terms)} terms, the vectors {vectors.vocab_size}")
    if terms is not None and len(set(terms)) != len(terms):
        raise InputError("the vocabulary spells two term ids the same way: write term ids instead (no --model)")
    ids = vectors.ids or [str(i) for i in range(len(vectors))]
    path = Path(path)
    with atomic_file(path, "w") as handle:
        for i in range(len(vectors)):
            idx, vals = vectors.row(i)
            if scale is not None:
                vals = np.rint(vals * scale)
                keep = vals > 0  # an impact rounded to 0 adds nothing
                idx, vals = idx[keep], vals[keep]
                weights = [int(v) for v in vals]
            else:
                weights = [float(v) for v in vals]
            names = [terms[t] for t in idx] if terms is not None else [str(int(t)) for t in idx]
            text = contents[i] if contents is not None else ""
            row = {"id": ids[i], "contents": text, "content": text, "vector": dict(zip(names, weights))}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: str | Path, *, vocab_size: int, terms: Sequence[str] | None = None,
               scale: float | None = None) -> SparseVectors:
    """Read JSON-lines vectors back; ``scale`` divides integer impacts back into weights."""
    path = Path(path)
    lookup = {t: i for i, t in enumerate(terms)} if terms is not None else None
    ids, indptr, indices, values = [], [0], [], []
    for line_no, row in iter_jsonl(path):
        if not isinstance(row.get("vector"), dict) or "id" not in row:
            raise InputError("expected an object with 'id' and a 'vector' mapping", path=path, line=line_no,
                             field="vector")
        pairs = []
        for term, weight in row["vector"].items():
            term_id = lookup.get(term) if lookup is not None else (int(term) if str(term).isdigit() else None)
            if term_id is None or not 0 <= term_id < vocab_size:
                raise InputError(f"unknown term {term!r}", path=path, line=line_no, field="vector")
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not np.isfinite(weight) \
                    or weight < 0:
                raise InputError(f"weight of {term!r} must be a finite number >= 0", path=path, line=line_no,
                                 field="vector")
            pairs.append((term_id, float(weight) / scale if scale else float(weight)))
        pairs.sort()
        ids.append(str(row["id"]))
        indices += [t for t, _ in pairs]
        values += [w for _, w in pairs]
        indptr.append(len(indices))
    try:
        return SparseVectors(indptr, indices, values, vocab_size, ids=ids)
    except ValueError as exc:  # e.g. a term twice in one vector after mapping
        raise InputError(str(exc), path=path) from None
