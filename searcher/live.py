"""The engine of an index folder's live generation, followed as it changes.

A server holds a LiveEngine: a background thread watches ``CURRENT`` and,
when a build has switched to a new generation, opens it and swaps it in.
Requests already running keep the engine they started with; the next ones
get the new one. Nothing is restarted.

A generation found damaged is never served (each file's size is checked at
every poll; opening checks the bytes of the files changed through the file
system, or of all with the setting check_on_open): when the live one cannot
be opened, or one of its files is cut short or removed while it serves, the
newest intact generation serves instead (logged once; each search answer
warns that an older index answers), until a build or ``storysearch check
--repair`` writes a good one. Where none is intact (generations share files),
every request is refused with 503 until then; a server started on such an
index does not start.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from storysearch.index import layout

from .engine import Notice, SearchEngine

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


class FollowingEngine:
    """An engine swapped as the live index moves: a subclass's ``refresh``
    looks, and ``start`` has a thread call it every ``poll_seconds``.
    Requests already running keep the engine they started with."""

    thread_name = "storysearch-index-watcher"

    def __init__(self, poll_seconds: float, engine_options: dict):
        self.poll_seconds = poll_seconds
        self._options = engine_options
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> SearchEngine:
        return self._engine

    def refresh(self) -> bool:
        raise NotImplementedError

    def start(self) -> "FollowingEngine":
        def watch():
            while not self._stop.wait(self.poll_seconds):
                try:
                    self.refresh()
                except Exception:  # noqa: BLE001 - the watcher must outlive whatever one poll meets
                    log.exception("the index watcher could not look at the index; it looks again")

        self._thread = threading.Thread(target=watch, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class LiveEngine(FollowingEngine):
    def __init__(self, folder: Path, poll_seconds: float = POLL_SECONDS, **engine_options):
        super().__init__(poll_seconds, engine_options)
        self.folder = Path(folder)
        self._refused: set[str] = set()  # generations found damaged, not tried again
        # The served generation's damage when no intact one is left: every request is refused with
        # it (503) rather than served by an engine whose mapped files are cut short (a read past
        # their end kills the process with SIGBUS), until a build or a repair writes a good one.
        self._damaged: layout.IndexDamaged | None = None
        self._engine = self._open_live()

    @property
    def current(self) -> SearchEngine:
        if self._damaged is not None:  # (a new exception each time: one raised again keeps every request's frames)
            raise layout.IndexDamaged(self._damaged.path, self._damaged.detail)
        return self._engine

    def _open(self, generation: Path | None = None) -> SearchEngine:
        engine = SearchEngine(self.folder, generation=generation, **self._options)
        engine.preload()
        return engine

    def _open_live(self) -> SearchEngine:
        """The live generation, or the newest intact one if it is damaged."""
        try:
            return self._open()
        except (layout.IndexDamaged, layout.IndexNotFound) as exc:
            return self._fall_back(layout.current_name(self.folder), exc)

    def _fall_back(self, damaged: str | None, reason: Exception) -> SearchEngine:
        self._refused.add(damaged)
        intact = layout.newest_intact_generation(self.folder, skip=self._refused)
        if intact is None:
            raise reason
        engine = self._open(intact)
        why = reason.what if isinstance(reason, layout.IndexDamaged) else str(reason)
        log.warning("%s; serving the newest intact generation, %s, until the index is repaired", why, intact.name)
        if intact.name == layout.current_name(self.folder):  # (the served one was older than the live one)
            return engine
        engine.warnings.append(Notice(
            f"the index's newest generation cannot be served ({why}); an older one, {intact.name}, answers "
            f"until the administrator runs `storysearch check --repair`: it may lack recent stories or hold "
            f"removed ones",
            "索引的最新版本已损坏，现在查到的是较早的版本：可能缺少最近加入的报道，或含有已删除的报道。"
            "请管理员运行 storysearch check --repair 修复。"))
        return engine

    def refresh(self) -> bool:
        """Serve the live generation if it is new and intact, or another intact
        one if the served one was damaged; True if the engine was swapped."""
        serving = self._engine.generation
        try:  # what CURRENT names, or the newest complete generation without a usable CURRENT
            live = layout.current_generation(self.folder).name
        except layout.IndexNotFound:
            live = None
        damage = [] if serving.name in self._refused else layout.damaged_files(serving, self._engine.meta)
        if damage:
            name, detail = damage[0]
            found = layout.IndexDamaged(serving / name, detail)
            try:
                engine = self._fall_back(serving.name, found)
            except (layout.IndexDamaged, layout.IndexNotFound):
                log.error("%s and no other intact generation exists: every request is refused (503) until "
                          "`storysearch check --repair` writes a good one", found.what)
                self._damaged = found
                return False
        elif live in (None, serving.name) or live in self._refused:
            return False
        else:
            try:
                engine = self._open(self.folder / live)
            except Exception as exc:  # noqa: BLE001 - a bad generation must not stop the server
                self._refused.add(live)
                log.error("could not open the new generation %s (%s); %s", live,
                          exc.what if isinstance(exc, layout.IndexDamaged) else exc,
                          "requests are still refused" if self._damaged else f"still serving {serving.name}")
                return False
        previous, self._engine, self._damaged = self._engine, engine, None
        log.warning("now serving %s (was %s)", engine.generation.name, previous.generation.name)
        return True

