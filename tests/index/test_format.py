"""Persistence: round trip, memory mapping, atomic replace, and every way a file can be bad."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from index_oracle import assert_matches_oracle, oracle, put_array

from laconic.errors import IndexCorruptError, IndexFormatError
from laconic.index import BuildConfig, SparseIndex
from laconic.index.format import verify_index


@pytest.fixture()
def saved(tmp_path, small_random):
    docs, queries = small_random
    index = SparseIndex.build(docs, config=BuildConfig(block_size=16, shards=2))
    index.add(docs[:3].with_ids(["extra0", "extra1", "extra2"]))
    index.delete(["d7", "extra1"])
    path = tmp_path / "idx"
    index.save(path)
    return index, queries, path


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_round_trip_gives_identical_results(tmp_path, small_random, bits):
    docs, queries = small_random
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=bits))
    index.save(tmp_path / "i")
    opened = SparseIndex.open(tmp_path / "i", verify=True)
    assert opened.config == index.config and len(opened) == len(index)
    a, b = index.search(queries, k=10), opened.search(queries, k=10)
    assert a.ids == b.ids
    for x, y in zip(a.scores, b.scores):
        np.testing.assert_array_equal(x, y)
    assert isinstance(opened._snap.segments[0].arrays["post_w"], np.memmap)


def test_updates_survive_save_and_open(saved):
    index, queries, path = saved
    opened = SparseIndex.open(path)
    assert len(opened) == len(index) == 501 and opened.stats()["segments"] == 3
    assert_matches_oracle(opened.search(queries, k=10), *oracle(index, queries, 10))
    opened.add(index.vectors()[:1].with_ids(["after-open"]))  # opened indexes stay writable
    opened.delete(["d1"])
    assert len(opened) == 501
    assert verify_index(path) > 0


def test_save_over_existing_is_atomic_when_interrupted(saved, monkeypatch):
    index, _, path = saved
    before = sorted(p.name for p in path.rglob("*"))
    import laconic.index.format as fmt

    def boom(*a, **k):
        raise RuntimeError("killed mid-save")

    monkeypatch.setattr(fmt, "crc32_file", boom)
    with pytest.raises(RuntimeError, match="killed"):
        index.save(path)
    assert sorted(p.name for p in path.rglob("*")) == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".idx.tmp")]
    monkeypatch.undo()
    SparseIndex.open(path, verify=True)


def test_truncated_file_fails_on_open(saved):
    _, _, path = saved
    f = path / "seg-0000" / "post_w.npy"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFormatError, match="post_w.npy.*truncated"):
        SparseIndex.open(path)


def test_flipped_byte_fails_verification(saved):
    _, _, path = saved
    f = path / "seg-0001" / "term_blocks.npy"
    data = bytearray(f.read_bytes())
    data[-3] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="term_blocks.npy.*checksum"):
        SparseIndex.open(path, warm_up=False)  # every open checks, unasked
    with pytest.raises(IndexCorruptError, match="term_blocks.npy.*checksum"):
        SparseIndex.open(path, verify=True)
    # without checksums the structural check still refuses it: a block id past the segment's last
    with pytest.raises(IndexCorruptError, match="term_blocks.npy"):
        SparseIndex.open(path, checksums=False)


def test_missing_file_and_directory(saved, tmp_path):
    _, _, path = saved
    (path / "deleted.npy").unlink()
    with pytest.raises(IndexFormatError, match="deleted.npy.*missing"):
        SparseIndex.open(path)
    with pytest.raises(IndexFormatError, match="no such index"):
        SparseIndex.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexFormatError, match="header.json.*missing"):
        SparseIndex.open(tmp_path / "empty")


def test_other_version_and_garbage_header(saved):
    _, _, path = saved
    head = path / "header.json"
    header = json.loads(head.read_text())
    header["version"] = 99
    head.write_text(json.dumps(header))
    with pytest.raises(IndexFormatError, match="version 99"):
        SparseIndex.open(path)
    head.write_text("{not json")
    with pytest.raises(IndexFormatError, match="header.json.*unreadable"):
        SparseIndex.open(path)


def test_swapped_array_is_caught_by_dtype_check(saved):
    _, _, path = saved
    shutil.copy(path / "seg-0000" / "post_doc.npy", path / "seg-0000" / "post_w.npy")
    header = json.loads((path / "header.json").read_text())
    spec = header["files"]["seg-0000/post_w.npy"]
    spec["bytes"] = (path / "seg-0000" / "post_w.npy").stat().st_size
    spec["dtype"] = "<u2"
    (path / "header.json").write_text(json.dumps(header))
    with pytest.raises(IndexFormatError, match="post_w.npy.*header says"):
        SparseIndex.open(path)


def _craft(path, rel: str, edit) -> None:
    """Apply ``edit`` to one array and make the header agree (size, CRC): only the structural checks remain."""
    arr = np.load(path / rel)
    edit(arr)
    header = json.loads((path / "header.json").read_text())
    put_array(path, header, rel, arr)
    (path / "header.json").write_text(json.dumps(header))


@pytest.mark.parametrize(
    ("rel", "edit", "message"),
    [
        ("seg-0000/pair_base.npy", lambda a: a.__setitem__(1, a[1] + 1), "pair_base.npy: anchor disagrees"),
        ("seg-0000/pair_base.npy", lambda a: a.__setitem__(1, a[1] + 65536), "pair_off.npy: pair pointers decrease"),
        ("seg-0000/pair_base.npy", lambda a: a.__setitem__(-1, a[-1] - 65536), "pair_off.npy: pair pointers"),
        ("seg-0000/pair_off.npy", lambda a: a.__setitem__(300, (int(a[299]) - 1) & 0xFFFF), "pair_off.npy: pair pointers decrease"),
        ("seg-0000/pair_off.npy", lambda a: a.__setitem__(300, a[300] + 3), "post_doc.npy: positions"),
    ],
)
def test_crafted_pair_pointers_are_refused_by_name(tmp_path, rel, edit, message):
    """Anchors and 16-bit offsets whose checksums were recomputed: the decoded pointers are checked."""
    rng = np.random.default_rng(0)
    from laconic.sparse import SparseVectors

    docs = SparseVectors.from_dicts(
        [{int(t): 1.0 for t in rng.choice(400, 30, replace=False)} for _ in range(3000)], 400,
        ids=[f"d{i}" for i in range(3000)],
    )
    path = tmp_path / "idx"
    SparseIndex.build(docs, config=BuildConfig(block_size=16)).save(path)
    assert np.load(path / "seg-0000" / "pair_base.npy").size >= 3  # several chunks of 256 pairs
    _craft(path, rel, edit)
    with pytest.raises(IndexCorruptError, match=message):
        SparseIndex.open(path)
