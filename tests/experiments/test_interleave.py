"""`experiments/interleave.py`: round-robin join; `--balance` mixes the sources equally."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "interleave.py"


def _run(tmp_path: Path, *flags: str) -> list[str]:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(f'{{"id": "a{i}"}}\n' for i in range(3)))
    b.write_text("".join(f'{{"id": "b{i}"}}\n' for i in range(10)) + "\n")  # a blank line is not an example
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b), "-o", str(out), *flags],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out.read_text().splitlines()


def test_join_keeps_every_line_and_alternates_while_both_last(tmp_path):
    lines = _run(tmp_path)
    assert len(lines) == 13
    assert sorted(lines) == sorted([f'{{"id": "a{i}"}}' for i in range(3)] + [f'{{"id": "b{i}"}}' for i in range(10)])
    assert [line[8] for line in lines[:6]] == ["a", "b"] * 3


def test_balance_cuts_every_source_to_the_smallest(tmp_path):
    lines = _run(tmp_path, "--balance")
    assert [line[8] for line in lines] == ["a", "b"] * 3
    assert len(set(lines)) == 6
    assert lines == _run(tmp_path)[:6]  # the same shuffle: the balanced file is the plain one's prefix
