"""BEIR readers (small temp files and the real data), their errors, subsets, TREC runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from laconic.errors import InputError
from laconic.evaluation import load_beir, read_trec_run, write_trec_run


def _write(root: Path, corpus=None, queries=None, qrels=None, split="test") -> Path:
    corpus = corpus if corpus is not None else [
        {"_id": "d1", "title": "Vitamin D", "text": "bone loss", "metadata": {}},
        {"_id": "d2", "title": "", "text": "statins and cholesterol"},
        {"_id": "d3", "text": "gene expression"},
    ]
    queries = queries if queries is not None else [
        {"_id": "q1", "text": "vitamin d and bones"},
        {"_id": "q2", "text": "cholesterol drugs"},
        {"_id": "q3", "text": "not judged in this split"},
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in corpus))
    (root / "queries.jsonl").write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in queries))
    (root / "qrels").mkdir(exist_ok=True)
    body = qrels if qrels is not None else "query-id\tcorpus-id\tscore\r\nq1\td1\t2\r\nq1\td3\t1\r\nq2\td2\t1\r\n"
    (root / "qrels" / f"{split}.tsv").write_bytes(body.encode())
    return root


def test_reads_crlf_header_and_graded_qrels(tmp_path):
    ds = load_beir(_write(tmp_path / "toy"), "test")
    assert ds.name == "toy" and ds.split == "test"
    assert ds.doc_ids == ["d1", "d2", "d3"]
    assert ds.titles == ["Vitamin D", "", ""] and ds.texts[2] == "gene expression"
    assert ds.query_ids == ["q1", "q2"]  # q3 has no judgements in this split
    assert ds.qrels == {"q1": {"d1": 2, "d3": 1}, "q2": {"d2": 1}}
    assert ds.documents[0] == {"title": "Vitamin D", "text": "bone loss"}


def test_bad_json_names_file_and_line(tmp_path):
    root = _write(tmp_path / "t", corpus=[{"_id": "d1", "text": "ok"}, '{"_id": "d2", "text": '])
    with pytest.raises(InputError) as err:
        load_beir(root)
    assert err.value.line == 2 and err.value.path.endswith("corpus.jsonl")
    assert "corpus.jsonl:2" in str(err.value) and "invalid JSON" in str(err.value)


def test_missing_field_is_named(tmp_path):
    root = _write(tmp_path / "t", queries=[{"_id": "q1", "text": "a"}, {"_id": "q2", "title": "no text"}])
    with pytest.raises(InputError) as err:
        load_beir(root)
    assert (err.value.line, err.value.field) == (2, "text")
    assert "queries.jsonl:2" in str(err.value)


def test_unknown_split_lists_available(tmp_path):
    with pytest.raises(InputError, match=r"unknown split 'dev' \(available: test\)"):
        load_beir(_write(tmp_path / "t"), "dev")


@pytest.mark.parametrize(
    ("row", "field", "strict"),
    [("q9\td1\t1", "query-id", True), ("q1\td9\t1", "corpus-id", True), ("q1\td1\thigh", "score", False)],
)
def test_bad_qrels_rows(tmp_path, row, field, strict):
    """Malformed rows always fail; unknown ids fail in strict mode (they are quirks otherwise)."""
    body = f"query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\n{row}\r\n"
    with pytest.raises(InputError) as err:
        load_beir(_write(tmp_path / "t", qrels=body), strict=strict)
    assert (err.value.line, err.value.field) == (3, field)
    assert "test.tsv:3" in str(err.value)


def test_duplicate_ids_and_missing_folder(tmp_path):
    with pytest.raises(InputError, match="duplicate id"):
        load_beir(_write(tmp_path / "t", corpus=[{"_id": "d1", "text": "a"}, {"_id": "d1", "text": "b"}], qrels="q1\td1\t1\n"),
                  strict=True)
    with pytest.raises(InputError, match="dataset folder not found"):
        load_beir(tmp_path / "nope")


@pytest.mark.parametrize(("name", "docs", "queries"), [("scifact", 5183, 300), ("nfcorpus", 3633, 323)])
def test_real_data_counts(beir_dir, name, docs, queries):
    ds = load_beir(beir_dir / name, "test")
    assert len(ds.doc_ids) == docs and len(set(ds.doc_ids)) == docs
    assert len(ds.query_ids) == queries == len(ds.qrels)
    if name == "nfcorpus":
        assert {g for rel in ds.qrels.values() for g in rel.values()} == {1, 2}  # graded


def test_subset_is_self_consistent(scifact_small):
    ds = scifact_small
    assert len(ds.doc_ids) == 200 and len(ds.query_ids) >= 40
    docs = set(ds.doc_ids)
    assert all(rel and set(rel) <= docs for rel in ds.qrels.values())
    assert set(ds.qrels) == set(ds.query_ids)


def test_write_beir_round_trip(scifact_small, scifact_small_dir):
    back = load_beir(scifact_small_dir, "test")
    assert back.doc_ids == scifact_small.doc_ids and back.texts == scifact_small.texts
    assert back.qrels == scifact_small.qrels and back.queries == scifact_small.queries


def test_trec_run_round_trip_is_atomic(tmp_path):
    path = write_trec_run({"q1": [("d1", 2.5), ("d2", 1.0)], "q2": [("d3", 0.25)]}, tmp_path / "run.trec", tag="t")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 d1 1 2.5 t" and lines[1] == "q1 Q0 d2 2 1 t"
    assert read_trec_run(path) == {"q1": {"d1": 2.5, "d2": 1.0}, "q2": {"d3": 0.25}}
    assert [p.name for p in tmp_path.iterdir()] == ["run.trec"]  # no temporary leftovers
    (tmp_path / "bad.trec").write_text("q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 x t\n")
    with pytest.raises(InputError, match="bad.trec:2"):
        read_trec_run(tmp_path / "bad.trec")


def _quirky(root: Path) -> Path:
    """The quirks of published datasets, in miniature: ArguAna's pattern of judged documents the
    corpus lacks, plus a duplicate document, an empty document, a qrel for an unknown query and a
    doubly judged pair."""
    corpus = [
        {"_id": "test-environment-aeghhgwpe-pro02a", "title": "Wind power", "text": "turbines make electricity"},
        {"_id": "test-economy-bepiehbgc-con01a", "title": "Tariffs", "text": "tariffs raise prices"},
        {"_id": "test-economy-bepiehbgc-con01a", "title": "Tariffs", "text": "tariffs raise consumer prices"},
        {"_id": "empty-doc", "title": "", "text": ""},
    ]
    queries = [{"_id": "q1", "text": "is wind power clean"}, {"_id": "q2", "text": "do tariffs hurt consumers"}]
    qrels = ("query-id\tcorpus-id\tscore\n"
             "q1\ttest-environment-aeghhgwpe-pro02a\t1\n"
             "q1\ttest-free-speech-debate-yfsdfkhbwu-con03b\t1\n"  # not in the corpus (as in ArguAna)
             "q2\ttest-economy-bepiehbgc-con01a\t1\n"
             "q2\ttest-economy-bepiehbgc-con01a\t2\n"  # judged twice
             "q7\ttest-economy-bepiehbgc-con01a\t1\n")  # no such query
    return _write(root, corpus=corpus, queries=queries, qrels=qrels)


def test_published_quirks_are_accepted_and_reported(tmp_path, caplog):
    root = _quirky(tmp_path / "quirky")
    ds = load_beir(root)
    assert ds.query_ids == ["q1", "q2"]
    assert ds.doc_ids == ["test-environment-aeghhgwpe-pro02a", "test-economy-bepiehbgc-con01a", "empty-doc"]
    assert ds.texts[1] == "tariffs raise consumer prices"  # the last copy, as BEIR's dict keeps it
    assert ds.qrels["q1"] == {"test-environment-aeghhgwpe-pro02a": 1, "test-free-speech-debate-yfsdfkhbwu-con03b": 1}
    assert ds.qrels["q2"] == {"test-economy-bepiehbgc-con01a": 2}
    text = "\n".join(ds.quirks)
    assert "1 qrels point to documents not in the corpus; they count as not retrieved" in text
    assert "1 duplicate document ids" in text and "1 documents have neither title nor text" in text
    assert "1 qrels name queries not in queries.jsonl" in text and "judged twice" in text
    assert "not in the corpus" in caplog.text  # logged as well
    with pytest.raises(InputError) as err:
        load_beir(root, strict=True)
    assert "corpus.jsonl:3" in str(err.value) and "duplicate id" in str(err.value)


def test_missing_judged_document_scores_as_pytrec_eval_does(tmp_path):
    """The judged-but-absent document is never retrieved: nDCG as pytrec_eval computes it on the raw qrels."""
    import pytrec_eval

    from laconic.evaluation.metrics import compute_metrics

    ds = load_beir(_quirky(tmp_path / "quirky"))
    run = {"q1": {"test-environment-aeghhgwpe-pro02a": 3.0, "empty-doc": 1.0},
           "q2": {"empty-doc": 2.0, "test-economy-bepiehbgc-con01a": 1.0}}
    ours = compute_metrics(ds.qrels, run, ["nDCG@10"])
    raw_qrels = {"q1": {"test-environment-aeghhgwpe-pro02a": 1, "test-free-speech-debate-yfsdfkhbwu-con03b": 1},
                 "q2": {"test-economy-bepiehbgc-con01a": 2}}
    per_query = pytrec_eval.RelevanceEvaluator(raw_qrels, {"ndcg_cut.10"}).evaluate(run)
    expected = sum(v["ndcg_cut_10"] for v in per_query.values()) / len(per_query)
    assert abs(ours["nDCG@10"] - expected) < 1e-9
    assert per_query["q1"]["ndcg_cut_10"] < 1.0  # the missing document costs q1, as in BEIR
