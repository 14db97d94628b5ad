"""The engine of an index folder's live generation, followed as it changes.

A server holds a LiveEngine: a background thread watches ``CURRENT`` and,
when a build has switched to a new generation, opens it and swaps it in.
Requests already running keep the engine they started with; the next ones
get the new one. Nothing is restarted and no request fails.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from index import layout

from .engine import SearchEngine

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


class LiveEngine:
    def __init__(self, folder: Path, poll_seconds: float = POLL_SECONDS, **engine_options):
        self.folder = Path(folder)
        self.poll_seconds = poll_seconds
        self._options = engine_options
        self._engine = self._open()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> SearchEngine:
        engine = SearchEngine(self.folder, **self._options)
        engine.preload()
        return engine

    @property
    def current(self) -> SearchEngine:
        return self._engine

    def refresh(self) -> bool:
        """Open the live generation if it is not the one served; True if swapped."""
        if layout.current_name(self.folder) == self._engine.generation.name:
            return False
        try:
            engine = self._open()
        except Exception:  # noqa: BLE001 - a bad generation must not stop the server
            log.exception("could not open the new generation of %s; still serving %s",
                          self.folder, self._engine.generation.name)
            return False
        previous, self._engine = self._engine, engine
        log.warning("now serving %s (was %s)", engine.generation.name, previous.generation.name)
        return True

    def start(self) -> "LiveEngine":
        def watch():
            while not self._stop.wait(self.poll_seconds):
                self.refresh()

        self._thread = threading.Thread(target=watch, name="storysearch-index-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
