"""Named points where a test can stop a build to kill it there.

With ``STORYSEARCH_FAILPOINT=<name>`` in the environment, the build writes
the name to ``STORYSEARCH_FAILPOINT_FILE`` when it reaches that point and
then waits to be killed. Without it, a failpoint does nothing.
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def failpoint(name: str) -> None:
    if os.environ.get("STORYSEARCH_FAILPOINT") != name:
        return
    marker = os.environ.get("STORYSEARCH_FAILPOINT_FILE")
    if marker:
        Path(marker).write_text(name, encoding="utf-8")
    while True:
        time.sleep(3600)
