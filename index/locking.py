"""One writer per index folder.

An OS file lock (``flock``) is held for the whole build: the kernel releases
it when the writer exits or is killed, so a dead writer never leaves a lock
behind. Who holds it (pid, command, start time) is written beside it for the
message the next writer shows.
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from . import layout

HOLDER = "write.lock.json"


class IndexBusy(RuntimeError):
    """Another writer holds the index folder."""


def _holder(folder: Path) -> str:
    try:
        info = json.loads((folder / HOLDER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another process"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return f"process {info.get('pid')} ({info.get('command', '?')}), running since {started}"


@contextmanager
def writer_lock(folder: Path, wait: float = 0):
    """Hold the folder's write lock; IndexBusy after ``wait`` seconds,
    IndexWriteError when the folder cannot be written at all."""
    folder = Path(folder)
    lock = FileLock(str(folder / layout.LOCK), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise IndexBusy(
            f"{folder} is being written by {_holder(folder)}; this run did not wait"
            + (f" longer than {wait:g} s" if wait else "")
            + ". Try again when it has finished, or pass --wait SECONDS.") from None
    except OSError as exc:
        raise layout.IndexWriteError(exc, folder / layout.LOCK) from exc
    try:
        try:
            (folder / HOLDER).write_text(json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv[:3]),
                                                     "started": time.time()}), encoding="utf-8")
        except OSError as exc:
            raise layout.IndexWriteError(exc, folder / HOLDER) from exc
        yield
    finally:
        # Cleaning up must never hide the error that ended the run.
        with suppress(OSError):
            (folder / HOLDER).unlink(missing_ok=True)
        lock.release()
