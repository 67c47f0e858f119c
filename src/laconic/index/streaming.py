"""Builds from vector shards on disk: one shard in memory per worker, segments written as they come.

Why a module of its own: a 10M-document collection shaped like LACONIC's
output (~3.8 billion postings) is ~30 GB of vectors, more than RAM, so the
build cannot concatenate its inputs the way ``SparseIndex.build`` does. Each
shard is read, checked, laid out into segments (on a worker thread: the numba
kernels release the GIL) and written into the index directory under
construction, in file order, before later shards are read.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from laconic.errors import InputError
from laconic.index.builder import build_segments
from laconic.index.config import BuildConfig
from laconic.index.format import IndexWriter
from laconic.index.ids import IdTable
from laconic.index.segment import Segment
from laconic.sparse import SparseVectors
from laconic.storage import atomic_directory


def _read_shard(file: Path, first: int, vocab_size: int | None, seen: set[str]) -> tuple[SparseVectors, list[str]]:
    """Load one shard and check it against the shards before it (vocabulary, unique ids)."""
    from laconic.index.sparse_index import check_ids

    try:
        part = SparseVectors.load(file)
    except InputError:
        raise
    except Exception as exc:  # a damaged file of any kind: say which one
        raise InputError(f"not a readable vectors file ({exc})", path=file) from exc
    if vocab_size is not None and part.vocab_size != vocab_size:
        raise InputError(f"vocab_size {part.vocab_size}, the first shard has {vocab_size}", path=file)
    ids = list(part.ids) if part.ids is not None else [str(first + i) for i in range(len(part))]
    try:
        check_ids(ids)
    except ValueError as exc:
        raise InputError(str(exc), path=file) from exc
    dup = next((i for i in ids if i in seen), None)
    if dup is not None:
        raise InputError(f"duplicate document id {dup!r} (also in an earlier shard)", path=file)
    seen.update(ids)
    return part, ids


def build_files(
    files: list[str | Path], output: str | Path, config: BuildConfig, show_progress: bool | None, workers: int
) -> None:
    """Write the index of every shard in ``files`` (in order) to ``output``, atomically."""
    from tqdm.auto import tqdm

    files = [Path(f) for f in files]
    if not files:
        raise ValueError("build_from_files needs at least one vectors file")
    seen: set[str] = set()
    id_parts: list[IdTable] = []
    vocab_size: int | None = None
    n = 0
    bar = tqdm(total=len(files), desc="index shards", unit="file",
               disable=not (len(files) > 1 if show_progress is None else show_progress))
    pending: deque[tuple[Path, Future[list[Segment]]]] = deque()
    per_shard = max(1, workers // max(1, min(workers, len(files))))  # threads: across shards first, then within
    with atomic_directory(output) as tmp, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        writer = IndexWriter(tmp, config.storage)

        def write_oldest() -> None:
            file, future = pending.popleft()
            try:
                segments = future.result()
            except ValueError as exc:  # bad weights (build_segments names the vector and term)
                raise InputError(str(exc), path=file) from exc
            for seg in segments:
                writer.add_segment(seg)
            bar.update(1)

        for file in files:
            part, ids = _read_shard(file, n, vocab_size, seen)
            vocab_size = part.vocab_size
            pending.append((file, pool.submit(build_segments, part, config, n, workers=per_shard)))
            id_parts.append(IdTable.from_list(ids))
            n += len(part)
            del part
            while len(pending) >= max(1, workers):
                write_oldest()
        while pending:
            write_oldest()
        bar.close()
        starts = np.cumsum([0] + [int(t.blob.size) for t in id_parts])
        ids_all = IdTable(
            np.concatenate([t.blob for t in id_parts]),
            np.concatenate([np.zeros(1, np.int64)] + [t.offsets[1:] + s for t, s in zip(id_parts, starts)]),
        )
        writer.finish(vocab_size=int(vocab_size), config=config, ids=ids_all, deleted=np.zeros(n, bool))
