"""BEIR readers and writers, plus TREC run files.

A BEIR dataset is a folder with ``corpus.jsonl``, ``queries.jsonl`` and
``qrels/<split>.tsv`` (a ``query-id corpus-id score`` header, tab separated,
often CRLF line endings, graded integer relevance). We read it with plain
``json``/``csv``-free parsing because the errors must name the file, line and
field; libraries such as ``datasets`` or ``beir`` stop with a stack trace.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from laconic.errors import InputError
from laconic.jsonl import iter_jsonl
from laconic.storage import atomic_file

logger = logging.getLogger(__name__)

__all__ = [
    "BeirDataset",
    "load_beir",
    "write_beir",
    "read_trec_run",
    "write_trec_run",
    "document_text",
    "Qrels",
    "Run",
]

Qrels = dict[str, dict[str, int]]
"""``{query_id: {doc_id: grade}}``; grade 0 means judged non-relevant."""
Run = dict[str, dict[str, float]]
"""``{query_id: {doc_id: score}}`` as ir-measures and pytrec_eval take it."""


@dataclass
class BeirDataset:
    """One split of a BEIR dataset, held in memory as parallel lists.

    Args:
        name: the dataset's name (its folder name).
        split: the qrels split (``test``, ``train``, ``dev``).
        doc_ids, titles, texts: the corpus, in file order.
        query_ids, queries: the queries that have qrels in this split, in file order.
        qrels: graded judgements of this split; a judged document missing from the
            corpus stays in (it is never retrieved, as BEIR and pytrec_eval score it).
        quirks: what the reader accepted and how (see :func:`load_beir`), one line each.

    Example:
        >>> ds = load_beir("../shared/data/beir/scifact", "test")  # doctest: +SKIP
        >>> len(ds.doc_ids), len(ds.query_ids)  # doctest: +SKIP
        (5183, 300)
    """

    name: str
    split: str
    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    query_ids: list[str]
    queries: list[str]
    qrels: Qrels = field(default_factory=dict)
    quirks: list[str] = field(default_factory=list)

    @property
    def documents(self) -> list[dict[str, str]]:
        """The corpus as ``{"title", "text"}`` dicts (what encoders take)."""
        return [{"title": t, "text": x} for t, x in zip(self.titles, self.texts)]

    def subset(self, n_docs: int, *, max_queries: int | None = None, seed: int = 0) -> BeirDataset:
        """A smaller, self-consistent dataset for tests and quick runs.

        Keeps the judged documents of as many queries (file order) as fit in
        half of ``n_docs``, fills the rest with random other documents (so the
        positives must be found among distractors), and keeps the queries whose
        relevant documents are all inside. Qrels are restricted to kept docs.
        """
        if n_docs <= 0:
            raise ValueError(f"n_docs must be positive, got {n_docs}")
        keep: set[str] = set()
        chosen: list[str] = []
        for qid in self.query_ids:
            rel = set(self.qrels.get(qid, {}))
            if len(keep | rel) > max(n_docs // 2, 1) or (max_queries is not None and len(chosen) >= max_queries):
                continue
            keep |= rel
            chosen.append(qid)
        others = [d for d in self.doc_ids if d not in keep]
        random.Random(seed).shuffle(others)
        keep |= set(others[: max(n_docs - len(keep), 0)])
        rows = [i for i, d in enumerate(self.doc_ids) if d in keep]
        chosen_set = set(chosen)
        qrows = [i for i, q in enumerate(self.query_ids) if q in chosen_set]
        return BeirDataset(
            name=self.name,
            split=self.split,
            doc_ids=[self.doc_ids[i] for i in rows],
            titles=[self.titles[i] for i in rows],
            texts=[self.texts[i] for i in rows],
            query_ids=[self.query_ids[i] for i in qrows],
            queries=[self.queries[i] for i in qrows],
            qrels={q: {d: g for d, g in self.qrels[q].items() if d in keep} for q in chosen},
        )


def document_text(title: str, text: str) -> str:
    """Title and body joined by a space (BEIR's convention for BM25 and dense models)."""
    title, text = title.strip(), text.strip()
    return f"{title} {text}" if title else text


class _Quirks:
    """Collects accepted oddities of a published dataset; in strict mode each one is an error."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.counts: dict[str, list[Any]] = {}

    def note(self, key: str, error: InputError, example: Any) -> None:
        if self.strict:
            raise error
        self.counts.setdefault(key, []).append(example)

    def lines(self, templates: dict[str, str]) -> list[str]:
        out = []
        for key, examples in self.counts.items():
            shown = ", ".join(repr(e) for e in examples[:3]) + (", ..." if len(examples) > 3 else "")
            out.append(templates[key].format(n=len(examples), examples=shown))
        return out


_QUIRK_TEXT = {
    "duplicate_doc": "{n} duplicate document ids in corpus.jsonl; the last copy is kept ({examples})",
    "duplicate_query": "{n} duplicate query ids in queries.jsonl; the last copy is kept ({examples})",
    "empty_doc": "{n} documents have neither title nor text; kept, they match nothing ({examples})",
    "missing_doc": "{n} qrels point to documents not in the corpus; they count as not retrieved ({examples})",
    "missing_query": "{n} qrels name queries not in queries.jsonl; those rows are dropped ({examples})",
    "duplicate_qrel": "{n} (query, document) pairs are judged twice; the last grade is kept ({examples})",
}


def _read_jsonl(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], quirks: _Quirks, duplicate_key: str
) -> list[tuple[str, ...]]:
    """Rows of ``(_id, *required, *optional)``; every malformed line raises InputError naming it.

    A repeated id is a quirk: the last row wins (as BEIR's loader, a dict, does).
    """
    if not path.is_file():
        raise InputError("file not found", path=path)
    rows: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for lineno, record in iter_jsonl(path):
        values = []
        for name in ("_id", *required):
            if name not in record:
                raise InputError("missing", path=path, line=lineno, field=name)
            values.append(record[name])
        values += [record.get(name) or "" for name in optional]
        for name, value in zip(("_id", *required, *optional), values):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise InputError(f"expected a string, got {type(value).__name__}", path=path, line=lineno, field=name)
        row = tuple(str(v) for v in values)
        if row[0] in seen:
            quirks.note(duplicate_key, InputError(f"duplicate id {row[0]!r}", path=path, line=lineno, field="_id"), row[0])
            rows[seen[row[0]]] = row
            continue
        seen[row[0]] = len(rows)
        rows.append(row)
    return rows


def read_qrels(path: Path) -> list[tuple[int, str, str, int]]:
    """``(line, query_id, doc_id, grade)`` rows of a BEIR qrels TSV (header optional, CRLF ok)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for lineno, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if lineno == 1 and parts[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue  # header
            if len(parts) == 4:  # TREC qrels: qid iteration docid grade
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) != 3:
                raise InputError(f"expected 3 tab-separated columns, got {len(parts)}", path=path, line=lineno)
            try:
                grade = int(float(parts[2]))
            except ValueError:
                raise InputError(f"relevance must be an integer, got {parts[2]!r}", path=path, line=lineno, field="score") from None
            rows.append((lineno, parts[0].strip(), parts[1].strip(), grade))
    return rows


def load_beir(dataset_dir: str | Path, split: str = "test", *, strict: bool = False) -> BeirDataset:
    """Read one split of a BEIR dataset folder, as published, quirks included.

    Queries are restricted to those with judgements in ``split``. Official
    datasets have known oddities (BEIR's ArguAna judges 5 documents its corpus
    lacks); refusing them would lose every other query, so they are accepted,
    scored as BEIR and pytrec_eval score them, and listed in ``dataset.quirks``
    (and logged): judged documents missing from the corpus stay in the qrels and
    count as not retrieved; qrels of unknown queries are dropped; repeated ids
    and repeated judgements keep the last copy; empty documents are kept.

    Args:
        dataset_dir: folder holding ``corpus.jsonl``, ``queries.jsonl``, ``qrels/``.
        split: name of a file ``qrels/<split>.tsv``.
        strict: make every quirk an :class:`InputError` naming its file and line.

    Raises:
        InputError: missing files, bad JSON, missing fields or wrong types, an
            unknown split; in strict mode also every quirk.
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise InputError("dataset folder not found", path=root)
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        known = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
        raise InputError(f"unknown split {split!r} (available: {', '.join(known) or 'none'})", path=qrels_path)
    quirks = _Quirks(strict)
    corpus = _read_jsonl(root / "corpus.jsonl", (), ("title", "text"), quirks, "duplicate_doc")
    for i, (doc_id, title, text) in enumerate(corpus):
        if not (title or text):
            error = InputError(f"document {doc_id!r} has neither title nor text", path=root / "corpus.jsonl", field="text")
            quirks.note("empty_doc", error, doc_id)
    queries = _read_jsonl(root / "queries.jsonl", ("text",), (), quirks, "duplicate_query")
    doc_set = {row[0] for row in corpus}
    query_text = {row[0]: row[1] for row in queries}
    qrels: Qrels = {}
    for lineno, qid, did, grade in read_qrels(qrels_path):
        if qid not in query_text:
            error = InputError(f"query id {qid!r} is not in queries.jsonl", path=qrels_path, line=lineno, field="query-id")
            quirks.note("missing_query", error, qid)
            continue
        if did not in doc_set:
            error = InputError(f"corpus id {did!r} is not in corpus.jsonl", path=qrels_path, line=lineno, field="corpus-id")
            quirks.note("missing_doc", error, did)
        if did in qrels.get(qid, {}):
            error = InputError(f"({qid!r}, {did!r}) is judged twice", path=qrels_path, line=lineno)
            quirks.note("duplicate_qrel", error, (qid, did))
        qrels.setdefault(qid, {})[did] = grade
    found = quirks.lines(_QUIRK_TEXT)
    for line in found:
        logger.warning("%s: %s", root, line)
    kept = [(qid, text) for qid, text in query_text.items() if qid in qrels]
    return BeirDataset(
        name=root.resolve().name,
        split=split,
        doc_ids=[r[0] for r in corpus],
        titles=[r[1] for r in corpus],
        texts=[r[2] for r in corpus],
        query_ids=[q for q, _ in kept],
        queries=[t for _, t in kept],
        qrels=qrels,
        quirks=found,
    )


def write_beir(dataset: BeirDataset, dataset_dir: str | Path) -> Path:
    """Write ``dataset`` as a BEIR folder (e.g. a subset for a quick CLI run)."""
    root = Path(dataset_dir)
    with atomic_file(root / "corpus.jsonl", "w") as handle:
        for d, t, x in zip(dataset.doc_ids, dataset.titles, dataset.texts):
            handle.write(json.dumps({"_id": d, "title": t, "text": x}) + "\n")
    with atomic_file(root / "queries.jsonl", "w") as handle:
        for q, t in zip(dataset.query_ids, dataset.queries):
            handle.write(json.dumps({"_id": q, "text": t}) + "\n")
    with atomic_file(root / "qrels" / f"{dataset.split}.tsv", "w") as handle:
        handle.write("query-id\tcorpus-id\tscore\r\n")
        for q, rel in dataset.qrels.items():
            for d, g in rel.items():
                handle.write(f"{q}\t{d}\t{g}\r\n")
    return root


def write_trec_run(run: Mapping[str, Iterable[tuple[str, float]]], path: str | Path, tag: str = "laconic") -> Path:
    """Write ``{qid: [(doc_id, score), ...]}`` (best first) as a TREC run, atomically.

    Lines are ``qid Q0 doc_id rank score tag`` with 1-based ranks.
    """
    path = Path(path)
    with atomic_file(path, "w") as handle:
        for qid, hits in run.items():
            for rank, (doc_id, score) in enumerate(hits, 1):
                handle.write(f"{qid} Q0 {doc_id} {rank} {float(score):.6g} {tag}\n")
    return path


def read_trec_run(path: str | Path) -> Run:
    """Read a TREC run file (``qid Q0 doc_id rank score tag``) into ``{qid: {doc_id: score}}``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("run file not found", path=path)
    run: Run = {}
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise InputError(f"expected 6 space-separated columns, got {len(parts)}", path=path, line=lineno)
            try:
                score = float(parts[4])
            except ValueError:
                raise InputError(f"score must be a number, got {parts[4]!r}", path=path, line=lineno, field="score") from None
            run.setdefault(parts[0], {})[parts[2]] = score
    return run
