"""Atomic writes: a failed write never damages the previous version."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from laconic.errors import InputError
from laconic.storage import atomic_directory, atomic_file, atomic_write_bytes, atomic_write_text, file_sha256


class Boom(RuntimeError):
    pass


def test_atomic_file_publishes_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "hello")
    assert target.read_text() == "hello"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_atomic_file_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(Boom):
        with atomic_file(target) as handle:
            handle.write(b"new partial")
            raise Boom()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # temporary removed


def test_atomic_directory_replaces_whole_directory(tmp_path):
    target = tmp_path / "idx"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    with atomic_directory(target) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_atomic_directory_failure_leaves_previous(tmp_path):
    target = tmp_path / "idx"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(Boom):
        with atomic_directory(target) as tmp:
            (tmp / "b").write_text("2")
            raise Boom()
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_file_sha256_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 5000
    path = tmp_path / "f"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_input_error_names_file_line_field():
    err = InputError("missing", path="corpus.jsonl", line=7, field="_id")
    assert str(err) == "corpus.jsonl:7: field '_id': missing"
    assert isinstance(err, ValueError)


def test_published_files_and_directories_follow_the_umask(tmp_path):
    """mkstemp/mkdtemp make 0600/0700 entries; published ones must be readable as a plain write's would be."""
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.json", "{}")
        with atomic_directory(tmp_path / "index") as d:
            (d / "part.npy").write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "index").st_mode) == 0o755


def test_replacing_a_file_keeps_its_mode(tmp_path):
    target = tmp_path / "weights.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(os.stat(target).st_mode) == 0o640
