"""Readers, schema errors, negative sampling and the resumable batch plan."""

from __future__ import annotations

import json

import numpy as np
import pytest

from laconic.errors import InputError
from laconic.training.collator import BatchPlan, GroupCollator, GroupDataset
from laconic.training.data import open_records, sample_group


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _tevatron(i, n_neg):
    return {"query_id": str(i), "query": f"q{i}",
            "positive_passages": [{"docid": f"p{i}", "title": "T", "text": f"pos {i}"}],
            "negative_passages": [{"docid": f"n{i}-{j}", "title": "", "text": f"neg {i} {j}"} for j in range(n_neg)]}


def test_pairs_and_tevatron_layouts(tmp_path):
    pairs = open_records(_write(tmp_path / "a.jsonl", [{"anchor": "a", "positive": "b"},
                                                      {"query": "c", "document": {"title": "t", "text": "d"}}]))
    assert len(pairs) == 2
    assert pairs[0].query == "a" and pairs[0].positives == [{"title": "", "text": "b"}] and pairs[0].negatives == []
    assert pairs[1].positives == [{"title": "t", "text": "d"}]
    tev = open_records(_write(tmp_path / "b.jsonl", [_tevatron(0, 3), "", _tevatron(1, 2)]))  # blank lines skipped
    assert len(tev) == 2 and len(tev[1].negatives) == 2 and tev[1].positives[0]["title"] == "T"


def test_parquet(tmp_path):
    import datasets

    path = tmp_path / "pairs.parquet"
    datasets.Dataset.from_list([{"query": "a", "document": "b"}, {"query": "c", "document": "d"}]).to_parquet(str(path))
    records = open_records(path)
    assert len(records) == 2 and records[1].positives[0]["text"] == "d"


@pytest.mark.parametrize(
    ("row", "line", "field"),
    [
        ({"question": "x", "document": "y"}, 2, "query"),
        ({"query": "x"}, 2, "positive_passages"),
        ({"query": "", "document": "y"}, 2, "query"),
        ({"query": "x", "positive_passages": [{"title": "t"}]}, 2, "positive_passages[0]"),
        ({"query": "x", "positive_passages": []}, 2, "positive_passages"),
        ({"query": "x", "document": "y", "negative_passages": [{"text": 3}]}, 2, "negative_passages[0]"),
    ],
)
def test_schema_errors_name_file_row_and_field(tmp_path, row, line, field):
    path = _write(tmp_path / "bad.jsonl", [{"query": "ok", "document": "fine"}, row])
    with pytest.raises(InputError) as info:
        open_records(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert f"bad.jsonl:{line}" in str(err)


def test_bad_json_and_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"bad\.jsonl:3: not valid JSON"):
        open_records(_write(tmp_path / "bad.jsonl", [{"query": "a", "document": "b"}, "", "{oops"]))
    with pytest.raises(InputError, match="not found"):
        open_records(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="no rows"):
        open_records(_write(tmp_path / "empty.jsonl", [""]))


def test_negative_sampling_seeded_and_with_replacement(tmp_path):
    records = open_records(_write(tmp_path / "t.jsonl", [_tevatron(0, 20), _tevatron(1, 2)]))
    rng = lambda: np.random.default_rng([7, 0, 0])  # noqa: E731
    group = sample_group(records[0], 8, rng())
    assert group[0]["text"] == "pos 0" and len(group) == 8
    assert len({g["text"] for g in group[1:]}) == 7  # enough negatives: no repeats
    assert group == sample_group(records[0], 8, rng())  # seeded
    small = sample_group(records[1], 8, rng())
    assert len(small) == 8 and {g["text"] for g in small[1:]} <= {"neg 1 0", "neg 1 1"}  # with replacement
    ds = GroupDataset(records, 4, seed=3)
    assert ds[(0, 0)] == ds[(0, 0)] and ds[(0, 0)] != ds[(1, 0)]  # re-sampled per epoch


def test_missing_negatives_for_groups_names_the_row(tmp_path):
    path = _write(tmp_path / "p.jsonl", [{"query": "a", "document": "b"}])
    with pytest.raises(InputError, match=r"p\.jsonl:1: field 'negative_passages'"):
        GroupDataset(open_records(path), 4, seed=0)[(0, 0)]


def test_batch_plan_covers_epochs_and_resumes():
    plan = BatchPlan(num_rows=10, per_device=3, world=1, rank=0, seed=1, epochs=2)
    batches = list(plan)
    assert len(batches) == 6 == len(plan)  # 3 full batches per epoch
    first = [r for _, r in sum(batches[:3], [])]
    assert len(set(first)) == 9  # no row twice within an epoch
    assert batches[3][0][0] == 1  # epoch index travels with the row
    plan.start = 4
    assert list(plan) == batches[4:]
    # two processes split each global batch without overlap
    ranks = [list(BatchPlan(10, 2, 2, r, 1, 1)) for r in (0, 1)]
    for a, b in zip(*ranks):
        assert not {x for _, x in a} & {x for _, x in b}


def test_collator_groups_passages_per_query(tiny_llama_dir, tmp_path):
    from laconic.encoder import SparseEncoder

    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    records = open_records(_write(tmp_path / "t.jsonl", [_tevatron(i, 5) for i in range(3)]))
    ds = GroupDataset(records, 3, seed=0)
    batch = GroupCollator(encoder.tokenize, 8, 16)([ds[(0, 0)], ds[(0, 1)]])
    assert batch["q"]["input_ids"].shape[0] == 2 and batch["p"]["input_ids"].shape[0] == 6
    assert batch["q"]["input_ids"].shape[1] <= 8 and batch["p"]["input_ids"].shape[1] <= 16
    assert batch["tokens"] == int(batch["q"]["attention_mask"].sum() + batch["p"]["attention_mask"].sum())


def test_worker_tokenizer_matches_encoder(tiny_llama_dir):
    import pickle

    import torch

    from laconic.encoder import SparseEncoder
    from laconic.training.collator import CpuTokenize

    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    texts = ["vitamin d", "the quick brown fox jumps over the lazy dog"]
    cpu = pickle.loads(pickle.dumps(CpuTokenize(encoder.tokenizer, encoder.profile)))
    for key, value in encoder.tokenize(texts, "document", 6).items():
        assert torch.equal(cpu(texts, "document", 6)[key], value)


def test_training_batches_are_formatted_like_encoding(tiny_llama_dir):
    """Training sees the released models' conventions: prefixes, title join, no BOS."""
    from laconic.encoder import SparseEncoder
    from laconic.training.data import Example

    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    tok = encoder.tokenizer
    example = Example("vitamin d", [{"title": "Bones", "text": "vitamin d deficiency"}], [])
    batch = GroupCollator(encoder.tokenize, 64, 64)([GroupDataset([example], 1, seed=0)[0, 0]])
    assert batch["q"]["input_ids"][0].tolist() == tok("query: vitamin d", add_special_tokens=False)["input_ids"]
    want = tok("passage: Bones vitamin d deficiency", add_special_tokens=False)["input_ids"]
    assert batch["p"]["input_ids"][0].tolist() == want and tok.bos_token_id not in want
