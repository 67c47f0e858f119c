"""SIGKILL during ``SparseIndex.save`` leaves the previous index opening intact."""

from __future__ import annotations

import textwrap

import pytest
import scipy.sparse as sp
from crash import kill_mid_write

from laconic.errors import IndexFormatError
from laconic.index import BuildConfig, SparseIndex
from laconic.sparse import SparseVectors

N_DOCS = 6_000

# The writer only opens and saves (no numba kernels to compile): it alternates
# two versions into the same directory, as a periodic re-save would.
WRITER = textwrap.dedent(
    """
    from laconic.index import SparseIndex
    versions = [SparseIndex.open(p, warm_up=False) for p in SOURCES]
    for round in range(10_000):
        versions[round % 2].save(PATH)
    """
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Two saved versions: version v holds the base documents plus markers 1..v."""
    root = tmp_path_factory.mktemp("sources")
    docs = SparseVectors.from_scipy(sp.random(N_DOCS, 5_000, density=0.02, random_state=0, format="csr"))
    index = SparseIndex.build(docs, [f"d{i}" for i in range(N_DOCS)], config=BuildConfig(shards=4))
    paths = []
    for version in (1, 2):
        index.add(SparseVectors.from_dicts([{1: float(version)}], docs.vocab_size), [f"marker-{version}"])
        paths.append(str(root / f"v{version}"))
        index.save(paths[-1])
    return paths


def _version(path) -> int:
    """Open with full checksum verification; return which complete version it is."""
    index = SparseIndex.open(path, verify=True, warm_up=False)
    markers = [i for i in index.vectors().ids if i.startswith("marker-")]
    version = len(markers)
    assert markers == [f"marker-{v}" for v in range(1, version + 1)]
    assert len(index) == N_DOCS + version and version in (1, 2)
    return version


@pytest.mark.parametrize("skip", [0, 3])
def test_kill_during_index_save(tmp_path, sources, skip):
    path = tmp_path / "index"
    script = f"PATH = {str(path)!r}\nSOURCES = {sources!r}\n" + WRITER
    temps = kill_mid_write(script, tmp_path, lambda: path.is_dir(), writes_to_skip=skip)
    assert temps, "the kill should land while a new version was being written"
    _version(path)  # the previous (or, if the rename won, the new) version, complete
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "index"]
    assert leftovers and all(name.startswith(".index.") for name in leftovers)  # partial dirs stay hidden


def test_kill_during_first_save_leaves_nothing_that_opens(tmp_path, sources):
    path = tmp_path / "index"
    script = f"PATH = {str(path)!r}\nSOURCES = {sources!r}\n" + WRITER
    kill_mid_write(script, tmp_path, lambda: True)
    if path.exists():  # the first save completed just before the kill
        _version(path)
    else:
        with pytest.raises(IndexFormatError):
            SparseIndex.open(path)


def test_truncated_file_is_reported(tmp_path):
    docs = SparseVectors.from_dicts([{1: 1.0, 2: 2.0}] * 50, 8)
    SparseIndex.build(docs).save(tmp_path / "index")
    victim = max((p for p in (tmp_path / "index").rglob("*.npy")), key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[:-7])
    with pytest.raises(IndexFormatError):
        SparseIndex.open(tmp_path / "index")


# A kill at the worst moment of a replacing save: after the old directory has
# been renamed away, before the new one is renamed in. Simulated by exiting the
# process (no cleanup, like SIGKILL) on the rename that would publish the new one.
RENAME_KILLER = textwrap.dedent(
    """
    import os
    import laconic.storage as storage
    from laconic.index import SparseIndex
    real_replace = os.replace
    def replace(src, dst, *a, **k):
        if os.path.basename(str(src)).startswith(".index.tmp-"):
            os._exit(137)  # die just before publishing the new version
        return real_replace(src, dst, *a, **k)
    storage.os.replace = replace
    SparseIndex.open(SOURCES[1], warm_up=False).save(PATH)
    """
)


def test_kill_between_the_renames_of_a_replacing_save(tmp_path, sources):
    import shutil
    import subprocess
    import sys

    path = tmp_path / "index"
    shutil.copytree(sources[0], path)  # version 1 is in place
    script = f"PATH = {str(path)!r}\nSOURCES = {sources!r}\n" + RENAME_KILLER
    subprocess.run([sys.executable, "-c", script], check=False, timeout=120)
    assert _version(path) in (1, 2)  # an index is at the path: the old one or the new one, never none
