"""Input readers: BEIR JSONL and plain text, and an error naming file:line:field for each bad input."""

from __future__ import annotations

import json

import pytest

from laconic.encoder.inputs import read_items
from laconic.encoder.profile import LACONIC, SPLADE
from laconic.errors import InputError


def write(path, lines, newline="\n"):
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


def test_beir_corpus_keeps_title_and_text_for_the_profile(tmp_path):
    f = write(tmp_path / "corpus.jsonl", [
        json.dumps({"_id": "d1", "title": "Vitamin D", "text": "bones"}),
        json.dumps({"_id": 7, "text": "no title"}),
        "",
        json.dumps({"_id": "d3", "title": "", "text": "empty title", "metadata": {}}),
    ], newline="\r\n")
    items = read_items(f, "documents")
    assert items.ids == ["d1", "7", "d3"]
    assert items.records == [
        {"title": "Vitamin D", "text": "bones"},
        {"title": None, "text": "no title"},
        {"title": "", "text": "empty title"},
    ]
    # the authors' join keeps the separator for an empty title; SPLADE's does not
    assert LACONIC.format(items.records, "document") == [
        "passage: Vitamin D bones", "passage: no title", "passage:  empty title"
    ]
    assert SPLADE.format(items.records, "document") == ["Vitamin D bones", "no title", "empty title"]


def test_beir_queries_ignore_title(tmp_path):
    f = write(tmp_path / "queries.jsonl", [json.dumps({"_id": "q1", "text": "what?", "title": "x"})])
    assert read_items(f, "queries").records == ["what?"]


def test_text_format_uses_line_numbers(tmp_path):
    f = write(tmp_path / "q.txt", ["first", "", "third"])
    items = read_items(f, "queries")
    assert items.ids == ["1", "3"] and items.records == ["first", "third"]
    forced = read_items(write(tmp_path / "x.jsonl", ["plain line"]), "queries", format="text")
    assert forced.records == ["plain line"]


@pytest.mark.parametrize(
    "lines, line, needle",
    [
        (['{"_id": "a", "text": "ok"}', '{"_id": "b", "text": '], 2, "invalid JSON"),
        (['{"_id": "a", "text": "ok"}', '{"text": "no id"}'], 2, "field '_id': missing"),
        (['{"_id": "a"}'], 1, "field 'text': missing"),
        (['{"_id": "a", "text": 3}'], 1, "field 'text': expected a string"),
        (['["not", "an", "object"]'], 1, "expected a JSON object"),
        (['{"_id": "a", "text": "x"}', '{"_id": "a", "text": "y"}'], 2, "duplicate id"),
    ],
)
def test_malformed_jsonl_names_file_line_field(tmp_path, lines, line, needle):
    f = write(tmp_path / "corpus.jsonl", lines)
    with pytest.raises(InputError) as err:
        read_items(f, "documents")
    assert f"corpus.jsonl:{line}: " in str(err.value) and needle in str(err.value)
    assert err.value.line == line


def test_undecodable_bytes(tmp_path):
    f = tmp_path / "corpus.jsonl"
    f.write_bytes(b'{"_id": "a", "text": "ok"}\n{"_id": "b", "text": "\xff\xfe"}\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2: not valid UTF-8"):
        read_items(f, "documents")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, content):
    f = tmp_path / "corpus.jsonl"
    f.write_bytes(content)
    with pytest.raises(InputError, match="empty input"):
        read_items(f, "documents")


def test_missing_file_and_bad_options(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_items(tmp_path / "nope.jsonl")
    f = write(tmp_path / "a.txt", ["x"])
    with pytest.raises(InputError, match="format"):
        read_items(f, "documents", format="csv")
    with pytest.raises(InputError, match="kind"):
        read_items(f, "passages")


def test_reads_real_beir_scifact(beir_dir):
    queries = read_items(beir_dir / "scifact" / "queries.jsonl", "queries")
    assert len(queries) > 1000 and all(queries.records)


def test_profile_formats_documents_by_hand_rules():
    assert SPLADE.format_document("plain") == "plain"
    assert LACONIC.format_document("plain") == "passage: plain"
    assert SPLADE.format_document({"title": " T ", "text": "body"}) == " T  body"  # no stripping
    assert LACONIC.format_document({"text": "body"}) == "passage: body"
    assert SPLADE.format_document({"title": "only title"}) == "only title"
    assert LACONIC.format_query("q ") == "query: q "
    with pytest.raises(TypeError):
        SPLADE.format_document(3)
    with pytest.raises(TypeError):
        LACONIC.format_query({"text": "x"})
