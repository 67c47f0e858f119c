"""Kill a writer process (SIGKILL) while it is in the middle of an atomic write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def kill_mid_write(
    script: str,
    watch: Path,
    ready: Callable[[], bool],
    *,
    timeout: float = 90.0,
    writes_to_skip: int = 0,
) -> list[str]:
    """Run ``script`` in a fresh interpreter; SIGKILL it while a ``.tmp-`` entry exists in ``watch``.

    Waits until ``ready()`` (e.g. one complete version exists), then for the
    next temporary entry to appear (skipping ``writes_to_skip`` of them, to land
    at various points), then kills at once. Returns the temporary names seen at
    kill time; raises if the writer finished or failed first.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-2000:]
                raise AssertionError(f"writer exited ({proc.returncode}) before the kill: {err}")
            if ready():
                names = [n for n in os.listdir(watch)] if watch.is_dir() else []
                temps = [n for n in names if ".tmp-" in n]
                fresh = [n for n in temps if n not in seen]
                if fresh:
                    if len(seen) >= writes_to_skip:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(10)
                        return temps
                    seen.update(fresh)
            time.sleep(0.001)
        raise AssertionError("timed out waiting for a write to start")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
