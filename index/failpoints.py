"""Named points where a test can stop a build to kill it there.

With ``STORYSEARCH_FAILPOINT=<name>`` in the environment, the build writes
the name and its process id to ``STORYSEARCH_FAILPOINT_FILE`` when it
reaches that point and then waits to be killed. Only the first process to
get there stops: with the file already written, another goes on, so that a
Ray task retried after its worker was killed there gets past it (the
variables reach the workers through ``worker_environment``). Without the
variable, a failpoint does nothing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

VARIABLES = ("STORYSEARCH_FAILPOINT", "STORYSEARCH_FAILPOINT_FILE")


def failpoint(name: str) -> None:
    if os.environ.get("STORYSEARCH_FAILPOINT") != name:
        return
    marker = os.environ.get("STORYSEARCH_FAILPOINT_FILE")
    if marker:
        written = Path(f"{marker}.{os.getpid()}")
        written.write_text(f"{name} {os.getpid()}", encoding="utf-8")
        try:
            os.link(written, marker)  # atomic: one process wins, and the marker is never seen half-written
        except FileExistsError:
            return
        finally:
            written.unlink()
    while True:
        time.sleep(3600)


def worker_environment() -> dict[str, str]:
    """The failpoint variables of this process, for the Ray workers of a build."""
    return {name: os.environ[name] for name in VARIABLES if name in os.environ}
