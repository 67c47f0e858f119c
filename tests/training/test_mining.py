"""Hard-negative mining with BM25 and with an encoder + our index, on a SciFact train subset."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from laconic.errors import ConfigError, InputError
from laconic.training.data import open_records
from laconic.training.mining import MiningConfig, load_training_split, mine_hard_negatives, write_tevatron


def _split(root):
    return load_training_split(root / "corpus.jsonl", root / "queries.jsonl", root / "qrels" / "train.tsv")


def test_bm25_mining_drops_positives_and_skips_top_ranks(scifact_small, tmp_path):
    dataset = _split(scifact_small)
    records = list(mine_hard_negatives(dataset, MiningConfig(depth=20, bm25=True)))
    assert len(records) == len(dataset.query_ids) > 20
    for rec in records:
        pos = {p["docid"] for p in rec["positive_passages"]}
        neg = [p["docid"] for p in rec["negative_passages"]]
        assert pos == {d for d, g in dataset.qrels[rec["query_id"]].items() if g > 0}
        assert not pos & set(neg) and len(neg) == len(set(neg)) and 20 - len(pos) <= len(neg) <= 20
    # BM25 finds SciFact positives: most queries lose at least one candidate to its positive
    assert np.mean([len(r["negative_passages"]) < 20 for r in records]) > 0.5

    skipped = list(mine_hard_negatives(dataset, MiningConfig(depth=20, skip=5, max_negatives=7, bm25=True)))
    for full, cut in zip(records, skipped):
        assert len(cut["negative_passages"]) <= 7
        assert {p["docid"] for p in cut["negative_passages"]} <= {p["docid"] for p in full["negative_passages"]}

    out = tmp_path / "train.jsonl"
    assert write_tevatron(iter(records), out) == len(records)
    mined = open_records(out)  # phase 2 reads what mining writes
    assert len(mined) == len(records) and mined[0].positives[0]["text"]
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) == {"query_id", "query", "positive_passages", "negative_passages"}
    assert set(first["positive_passages"][0]) == {"docid", "title", "text"}


def test_encoder_mining_uses_our_index(scifact_small, tiny_llama_dir):
    import torch

    from laconic.encoder import SparseEncoder

    dataset = _split(scifact_small)
    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", query_max_length=32, document_max_length=64)
    records = list(mine_hard_negatives(dataset, MiningConfig(depth=10, batch_size=64), encoder))
    assert len(records) == len(dataset.query_ids)
    # compare with brute-force dot products over the same vectors
    docs = torch.tensor(encoder.encode_documents(dataset.documents, show_progress=False).to_dense())
    queries = torch.tensor(encoder.encode_queries(dataset.queries, show_progress=False).to_dense())
    top = (queries @ docs.T).topk(10, dim=1).indices
    overlap = []
    for rec, row in zip(records, top):
        pos = {p["docid"] for p in rec["positive_passages"]}
        brute = [dataset.doc_ids[i] for i in row.tolist() if dataset.doc_ids[i] not in pos]
        got = [p["docid"] for p in rec["negative_passages"]]
        assert not pos & set(got)
        overlap.append(len(set(got) & set(brute)) / max(len(brute), 1))
    assert np.mean(overlap) > 0.9  # quantised index scores may swap near-ties only


def test_inputs_outside_beir_layout_and_errors(scifact_small, tmp_path):
    for name in ("corpus.jsonl", "queries.jsonl"):
        shutil.copy(scifact_small / name, tmp_path / f"my-{name}")
    shutil.copy(scifact_small / "qrels" / "train.tsv", tmp_path / "judgements.tsv")
    dataset = load_training_split(tmp_path / "my-corpus.jsonl", tmp_path / "my-queries.jsonl", tmp_path / "judgements.tsv")
    assert len(dataset.query_ids) == len(_split(scifact_small).query_ids)
    with pytest.raises(InputError, match="qrels file not found"):
        load_training_split(tmp_path / "my-corpus.jsonl", tmp_path / "my-queries.jsonl", tmp_path / "nope.tsv")
    with pytest.raises(ConfigError, match="encoder"):
        list(mine_hard_negatives(dataset, MiningConfig(depth=5)))
