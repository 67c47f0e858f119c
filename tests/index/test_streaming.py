"""Shard-by-shard builds from files, and saves that hard-link unchanged segments instead of rewriting them."""

from __future__ import annotations

import json

import pytest
from index_oracle import assert_matches_oracle, brute_force, zipf_topic_vectors

from laconic.errors import InputError
from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors


def _shards(tmp_path, docs: SparseVectors, cuts: list[int], with_ids: bool = True) -> list:
    files = []
    for i, (a, b) in enumerate(zip([0] + cuts, cuts + [len(docs)])):
        part = docs[a:b] if with_ids else docs[a:b].with_ids(None)
        files.append(tmp_path / f"docs-{i}.npz")
        part.save(files[-1])
    return files


def test_build_from_shard_files_equals_brute_force_over_all(tmp_path, realistic):
    docs, queries = realistic
    files = _shards(tmp_path, docs, [700, 1900])
    index = SparseIndex.build_from_files(files, tmp_path / "idx", config=BuildConfig(weight_bits=32, block_size=32))
    assert len(index) == len(docs) and index.stats()["segments"] == 3  # one per shard
    assert_matches_oracle(index.search(queries, k=10), *brute_force(queries, docs, 10))
    header = json.loads((tmp_path / "idx" / "header.json").read_text())
    assert header["n_total"] == len(docs)


def test_shards_without_ids_are_numbered_across_files(tmp_path):
    docs = zipf_topic_vectors(300, 500, 20, seed=4)
    files = _shards(tmp_path, docs, [100, 250], with_ids=False)
    index = SparseIndex.build_from_files(files, tmp_path / "idx", config=BuildConfig(weight_bits=32))
    assert index.ids() == [str(i) for i in range(300)]
    want = docs.with_ids([str(i) for i in range(300)])
    q = docs[:5].with_ids(None)
    assert_matches_oracle(index.search(q, k=7), *brute_force(q, want, 7))


def test_bad_shard_names_its_file_and_leaves_the_output_alone(tmp_path):
    docs = zipf_topic_vectors(200, 500, 20, seed=5)
    out = tmp_path / "idx"
    SparseIndex.build(docs[:10]).save(out)
    before = sorted(p.name for p in out.rglob("*"))
    files = _shards(tmp_path, docs, [100])
    docs[50:60].save(tmp_path / "again.npz")  # ids d50..d59 already in docs-0.npz
    with pytest.raises(InputError, match=r"again\.npz.*duplicate document id 'd50'"):
        SparseIndex.build_from_files(files + [tmp_path / "again.npz"], out)
    other = SparseVectors.from_dicts([{1: 1.0}] * 5, 999, ids=[f"x{i}" for i in range(5)])
    other.save(tmp_path / "other.npz")
    with pytest.raises(InputError, match=r"other\.npz.*vocab_size 999"):
        SparseIndex.build_from_files(files + [tmp_path / "other.npz"], out)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"junk\.npz"):
        SparseIndex.build_from_files([tmp_path / "junk.npz"], out)
    assert sorted(p.name for p in out.rglob("*")) == before
    assert len(SparseIndex.open(out)) == 10


def _inodes(path) -> dict[str, int]:
    return {p.relative_to(path).as_posix(): p.stat().st_ino for p in path.rglob("*.npy")}


def test_save_after_add_links_the_unchanged_segments(tmp_path, realistic):
    docs, queries = realistic
    path = tmp_path / "idx"
    SparseIndex.build(docs[:2000], config=BuildConfig(weight_bits=32)).save(path)
    first = _inodes(path)
    index = SparseIndex.open(path)
    index.add(docs[2000:])
    index.delete(["d3"])
    index.save(path)  # over itself
    second = _inodes(path)
    seg0 = [rel for rel in first if rel.startswith("seg-0000/")]
    assert seg0 and all(second[rel] == first[rel] for rel in seg0)  # the same files, not copies
    assert second["deleted.npy"] != first["deleted.npy"] and "seg-0001/post_w.npy" in second
    reopened = SparseIndex.open(path, verify=True)  # checksums of the linked files still hold
    live = docs[[i for i in range(len(docs)) if docs.ids[i] != "d3"]]
    assert_matches_oracle(reopened.search(queries, k=10), *brute_force(queries, live, 10))


def test_save_never_links_a_file_replaced_since_open(tmp_path, realistic):
    docs, queries = realistic
    path = tmp_path / "idx"
    SparseIndex.build(docs[:1500]).save(path)
    a = SparseIndex.open(path)
    expected = a.search(queries, k=10)
    SparseIndex.build(docs[1500:]).save(path)  # another writer replaces the directory
    a.save(tmp_path / "copy")
    copy = SparseIndex.open(tmp_path / "copy", verify=True)
    got = copy.search(queries, k=10)
    assert got.ids == expected.ids
    replaced, copied = _inodes(path), _inodes(tmp_path / "copy")
    assert all(copied[rel] != ino for rel, ino in replaced.items() if rel in copied)
