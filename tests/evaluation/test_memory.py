"""Memory figures: dense-equivalent bytes, savings, on-disk sizes."""

from __future__ import annotations

import pytest

from laconic.evaluation import dense_index_bytes, directory_bytes, index_memory


def test_dense_bytes_and_saving():
    assert dense_index_bytes(5183, 2048) == 5183 * 2048 * 4
    mem = index_memory(29 * 1000, 1000, 25, disk_bytes=40_000)
    assert mem["dense_float32_bytes"] == 100_000
    assert mem["saving_vs_dense"] == pytest.approx(0.71)
    assert mem["bytes_per_doc"] == pytest.approx(29.0)
    assert mem["index_disk_bytes"] == 40_000 and mem["peak_rss_bytes"] > 0


def test_falls_back_to_disk_bytes_and_skips_dense_without_width():
    mem = index_memory(None, 10, None, disk_bytes=500)
    assert mem["index_bytes"] == 500 and "dense_float32_bytes" not in mem


def test_directory_bytes(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 7)
    assert directory_bytes(tmp_path) == 17 and directory_bytes(tmp_path / "a") == 10
