"""CIFF export/import: bytes checked by a hand-written wire-format decoder, round trips, and damaged files."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from laconic.cli.main import app
from laconic.errors import InputError
from laconic.integrations.ciff import read_ciff, write_ciff
from laconic.sparse import SparseVectors


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos


def _fields(msg: bytes) -> list[tuple[int, object]]:
    """Protobuf wire format by hand: (field number, int | bytes | float) in order."""
    out, pos = [], 0
    while pos < len(msg):
        key, pos = _varint(msg, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(msg, pos)
        elif wire == 1:
            value = struct.unpack("<d", msg[pos:pos + 8])[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(msg, pos)
            value = msg[pos:pos + length]
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def _messages(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        n, pos = _varint(data, pos)
        out.append(data[pos:pos + n])
        pos += n
    return out


@pytest.fixture()
def small():
    # doc a: term 1 -> 0.5, term 3 -> 2.0; doc b: term 3 -> 0.25; doc c: term 0 -> 0.004 (rounds to 0 at scale 100)
    return SparseVectors.from_dicts([{1: 0.5, 3: 2.0}, {3: 0.25}, {0: 0.004}], vocab_size=5, ids=["a", "b", "c"])


def test_bytes_follow_the_ciff_spec(tmp_path, small):
    path = write_ciff(small, tmp_path / "x.ciff", scale=100, terms=["t0", "t1", "t2", "t3", "t4"])
    msgs = _messages(path.read_bytes())
    assert len(msgs) == 1 + 2 + 3  # header, two postings lists (t1, t3; t0's only impact rounded away), three docs
    header = dict(_fields(msgs[0]))
    assert header[1] == 1 and header[2] == 2 and header[3] == 3  # version, num_postings_lists, num_doc_records
    assert header[5] == 3 and header[6] == 50 + 200 + 25  # total_docs, total_terms_in_collection
    assert header[7] == pytest.approx(275 / 3)
    t1 = _fields(msgs[1])
    assert t1[0] == (1, b"t1") and t1[1] == (2, 1) and t1[2] == (3, 50)
    assert [dict(_fields(p)) for _, p in t1[3:]] == [{2: 50}]  # docid 0 is proto3's default: omitted on the wire
    t3 = _fields(msgs[2])
    assert t3[0] == (1, b"t3") and t3[1] == (2, 2) and t3[2] == (3, 225)
    postings = [dict(_fields(p)) for _, p in t3[3:]]
    assert [(p.get(1, 0), p[2]) for p in postings] == [(0, 200), (1, 25)]  # docid gaps 0, then +1
    docs = [dict(_fields(m)) for m in msgs[3:]]
    assert [(d.get(1, 0), d[2], d.get(3, 0)) for d in docs] == [(0, b"a", 250), (1, b"b", 25), (2, b"c", 0)]


def test_round_trip_keeps_impacts_and_ids(tmp_path):
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((40, 60)) < 0.15, rng.integers(1, 300, (40, 60)), 0).astype(np.float32) / 100
    vecs = SparseVectors.from_dense(dense).with_ids([f"doc-{i}" for i in range(40)])
    write_ciff(vecs, tmp_path / "v.ciff", scale=100)
    back = read_ciff(tmp_path / "v.ciff", vocab_size=60, scale=100)
    assert back.ids == vecs.ids
    np.testing.assert_allclose(back.to_dense(), dense, atol=1e-6)


def test_cli_round_trip(tmp_path, small):
    small.save(tmp_path / "d.npz")
    runner = CliRunner()
    out = runner.invoke(app, ["convert", "-i", str(tmp_path / "d.npz"), "-o", str(tmp_path / "d.ciff"), "--scale", "100"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["convert", "-i", str(tmp_path / "d.ciff"), "-o", str(tmp_path / "e.npz"), "--scale", "100",
                              "--vocab-size", "5"])
    assert out.exit_code == 0, out.output
    back = SparseVectors.load(tmp_path / "e.npz")
    np.testing.assert_allclose(back.to_dense(), [[0, 0.5, 0, 2.0, 0], [0, 0, 0, 0.25, 0], [0, 0, 0, 0, 0]])
    no_scale = runner.invoke(app, ["convert", "-i", str(tmp_path / "d.npz"), "-o", str(tmp_path / "f.ciff")])
    assert no_scale.exit_code != 0 and "--scale" in str(no_scale.exception) + no_scale.output


def test_damaged_files_name_the_problem(tmp_path, small):
    good = write_ciff(small, tmp_path / "g.ciff", scale=100).read_bytes()
    cases = {
        "truncated": good[: len(good) - 3],
        "garbage": b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        "empty": b"",
        "extra": good + good[:5],
    }
    for name, data in cases.items():
        (tmp_path / f"{name}.ciff").write_bytes(data)
        with pytest.raises(InputError, match=f"{name}.ciff"):
            read_ciff(tmp_path / f"{name}.ciff", vocab_size=5)
    with pytest.raises(InputError, match="unknown term '3'"):
        read_ciff(tmp_path / "g.ciff", vocab_size=3)  # term ids 0-2 only
    with pytest.raises(InputError, match="unknown term 't1'"):
        write_ciff(small, tmp_path / "named.ciff", scale=100, terms=["t0", "t1", "t2", "t3", "t4"])
        read_ciff(tmp_path / "named.ciff", terms=["t0", "x", "t2", "t3", "t4"])
    rng = np.random.default_rng(1)
    for i in range(200):  # random byte flips: an InputError or a valid read, never another exception
        data = bytearray(good)
        data[int(rng.integers(len(data)))] ^= int(rng.integers(1, 256))
        (tmp_path / "flip.ciff").write_bytes(bytes(data))
        try:
            read_ciff(tmp_path / "flip.ciff", vocab_size=5)
        except InputError:
            pass
