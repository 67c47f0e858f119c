"""Document texts for the search page: titles, snippets and where the matched terms are.

The index holds vectors and ids only. ``laconic serve --corpus corpus.jsonl``
adds this store so hits can show their title and a snippet, with every matched
query term marked where the tokenizer's character offsets allow. Offsets come
from tokenising the document exactly as the encoder's profile formats it
(prefix, title, separator, text), so the marked spans are the tokens the model
pooled over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNIPPET_CHARS = 480  # characters of text shown per hit
_LEAD_CHARS = 80  # context kept before the first match
_MAX_TOKENIZE_CHARS = 20_000  # a longer text is highlighted in its first part only


@dataclass(frozen=True)
class Span:
    """A matched term's characters in the title or in the snippet (``start`` inclusive, ``end`` exclusive)."""

    field: str
    start: int
    end: int
    term_id: int


class DocumentStore:
    """``{id: {"title", "text"}}`` read from a BEIR ``corpus.jsonl`` (or plain text, one document a line)."""

    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self.records = records

    @classmethod
    def from_file(cls, path: str | Path) -> DocumentStore:
        from laconic.encoder.inputs import read_items

        items = read_items(path, "documents")
        records = {}
        for doc_id, record in zip(items.ids, items.records):
            records[doc_id] = record if isinstance(record, dict) else {"title": None, "text": record}
        return cls(records)

    def __len__(self) -> int:
        return len(self.records)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        return self.records.get(doc_id)


def _token_spans(tokenizer: Any, profile: Any, record: dict[str, Any], term_ids: set[int]) -> list[Span]:
    """Character spans (in title / text coordinates) of the tokens whose id is in ``term_ids``."""
    title = record.get("title")
    clipped = {"title": title, "text": str(record.get("text") or "")[:_MAX_TOKENIZE_CHARS]}
    full, title_start, text_start = profile.document_layout(clipped)
    title_end = -1 if title_start is None else title_start + len(str(title))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    spans = []
    for tid, (a, b) in zip(enc["input_ids"], enc["offset_mapping"]):
        if tid not in term_ids or b <= a:
            continue
        while a < b and full[a].isspace():  # byte-level BPE tokens carry their leading space
            a += 1
        if title_start is not None and title_start <= a and b <= title_end:
            spans.append(Span("title", a - title_start, b - title_start, int(tid)))
        elif a >= text_start:
            spans.append(Span("text", a - text_start, b - text_start, int(tid)))
    return spans


def snippet(tokenizer: Any, profile: Any, record: dict[str, Any], term_ids: set[int]) -> tuple[str, int, list[Span]]:
    """``(snippet, offset of the snippet in the text, spans)``: a window of the text around the first match.

    Without a fast tokenizer (no offsets) the spans are empty and the snippet starts the text.
    """
    text = str(record.get("text") or "")
    try:
        spans = _token_spans(tokenizer, profile, record, term_ids) if term_ids else []
    except (NotImplementedError, ValueError, TypeError, KeyError):  # slow tokenizers have no offset mapping
        spans = []
    first = min((s.start for s in spans if s.field == "text"), default=0)
    start = max(0, first - _LEAD_CHARS)
    if start:
        space = text.rfind(" ", 0, start)  # begin on a word
        start = space + 1 if space >= 0 and start - space < 30 else start
    end = min(len(text), start + SNIPPET_CHARS)
    kept = [
        Span(s.field, s.start - start, s.end - start, s.term_id) if s.field == "text" else s
        for s in spans
        if s.field == "title" or (start <= s.start and s.end <= end)
    ]
    return text[start:end], start, kept
