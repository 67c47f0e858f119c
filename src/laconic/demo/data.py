"""Load what the demo needs from a BEIR directory or a bare corpus JSONL.

The demo accepts more shapes of input than evaluation does (a corpus file with
no queries is fine: the demo then just indexes it and runs the user's queries),
so it assembles the files itself from the shared readers; every malformed line raises ``InputError`` naming
the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from laconic.errors import InputError
from laconic.evaluation.datasets import read_qrels
from laconic.jsonl import iter_jsonl


@dataclass
class DemoData:
    """A corpus plus (optionally) queries and graded judgements of one split."""

    name: str
    doc_ids: list[str]
    docs: list[dict]  # {"title", "text"} in doc_ids order
    queries: dict[str, str] = field(default_factory=dict)  # judged queries of the split only
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    rows = []
    for lineno, row in iter_jsonl(path):
        for name in required:
            if not isinstance(row.get(name), str):
                raise InputError("missing or not a string", path=path, line=lineno, field=name)
        rows.append(row)
    return rows


def _judged(path: Path) -> dict[str, dict[str, int]]:
    """Positive judgements of a qrels file, through evaluation's reader."""
    qrels: dict[str, dict[str, int]] = {}
    for _line, qid, did, grade in read_qrels(path):
        if grade > 0:
            qrels.setdefault(qid, {})[did] = grade
    return qrels


def load_demo_data(source: Path, split: str = "test") -> DemoData:
    """Read a BEIR directory (corpus, queries, qrels/<split>.tsv) or a corpus JSONL file.

    Example:
        >>> data = load_demo_data(Path("../shared/data/beir/scifact"))  # doctest: +SKIP
        >>> len(data.doc_ids), len(data.queries)
        (5183, 300)
    """
    source = Path(source)
    if not source.exists():
        raise InputError("no such file or directory", path=source)
    corpus_path = source / "corpus.jsonl" if source.is_dir() else source
    if not corpus_path.is_file():
        raise InputError("not a BEIR directory (corpus.jsonl missing)", path=source)
    rows = _read_jsonl(corpus_path, required=("_id",))
    if not rows:
        raise InputError("the corpus is empty", path=corpus_path)
    doc_ids, docs, seen = [], [], set()
    for lineno, row in enumerate(rows, 1):
        if row["_id"] in seen:
            raise InputError(f"duplicate document id {row['_id']!r}", path=corpus_path, line=lineno, field="_id")
        seen.add(row["_id"])
        doc_ids.append(row["_id"])
        docs.append({"title": str(row.get("title") or ""), "text": str(row.get("text") or "")})
    name = source.name if source.is_dir() else source.stem
    data = DemoData(name=name, doc_ids=doc_ids, docs=docs)

    queries_path, qrels_path = source / "queries.jsonl", source / "qrels" / f"{split}.tsv"
    if source.is_dir() and queries_path.is_file() and qrels_path.is_file():
        qrels = _judged(qrels_path)
        texts = {q["_id"]: q["text"] for q in _read_jsonl(queries_path, required=("_id", "text"))}
        missing = sorted(set(qrels) - set(texts))
        if missing:
            raise InputError(f"query id {missing[0]!r} of the qrels is not in {queries_path.name}", path=qrels_path)
        data.queries = {qid: texts[qid] for qid in sorted(qrels, key=_natural)}
        data.qrels = qrels
    return data


def _natural(qid: str) -> tuple:
    """Sort "2" before "10" so the first queries shown are stable and readable."""
    return (0, int(qid), "") if qid.isdigit() else (1, 0, qid)
