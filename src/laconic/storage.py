"""Crash-safe file writes shared by vectors, indexes and training checkpoints.

A reader must only ever see a complete old file or a complete new one, never a
half-written one. Everything here writes to a temporary sibling, fsyncs it,
renames it over the target (atomic on POSIX within one file system) and fsyncs
the parent directory so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

_CHUNK = 1 << 20
T = TypeVar("T")


def fsync_dir(path: str | Path) -> None:
    """Persist a directory's entries (new names, renames) to disk."""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_sibling(path: Path, create: Callable[[Path], T]) -> tuple[Path, T]:
    """Create a fresh ``.<name>.tmp-<random>`` sibling of ``path``: ``(tmp, create(tmp))``.

    Why not ``mkstemp``/``mkdtemp``: they create 0600/0700 entries, so a published
    index or model could not be read by the service account that serves it.
    Creating with mode 0666/0777 lets the kernel apply the umask, as a plain
    ``open``/``mkdir`` would, without touching the process-wide umask.
    """
    while True:
        tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(6)}"
        try:
            return tmp, create(tmp)
        except FileExistsError:
            continue


def _keep_mode(tmp: Path, target: Path) -> None:
    """Replacing an existing file or directory keeps its permissions."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(tmp, os.stat(target).st_mode & 0o7777)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; publish it on success.

    If the body raises (or the process dies), ``path`` keeps its old content and
    the temporary file is removed (or, after a kill, left with a ``.tmp-`` name
    that readers never look at).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _temp_sibling(path, lambda name: os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(tmp, path)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_file(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the call is unavailable (other OS, old kernel or libc,
    file system without support) so the caller can fall back.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Build a directory under a temporary name, then move it to ``path``.

    Yields the temporary directory to fill. On success every file in it is
    fsynced and it replaces ``path``: on Linux by one atomic exchange of the
    two names (``path`` always holds a complete version, even if the process
    dies mid-swap); elsewhere an existing ``path`` is moved aside first and
    deleted only after the new one is in place. On failure the temporary
    directory is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, _ = _temp_sibling(path, lambda name: os.mkdir(name, 0o777))
    try:
        yield tmp
        _keep_mode(tmp, path)
        for root, _dirs, files in os.walk(tmp):
            for name in files:
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            fsync_dir(root)
        old = None
        if path.exists() and _exchange(tmp, path):
            # One atomic swap: ``path`` holds the old or the new version at every
            # instant, even if the process dies here; ``tmp`` now holds the old one.
            old = tmp
        else:
            if path.exists():  # fallback: two renames, with a brief window without ``path``
                old = path.parent / f".{path.name}.old-{os.getpid()}"
                os.replace(path, old)
            os.replace(tmp, path)
        fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (checksums in headers)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
