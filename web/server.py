"""Serving the app: with waitress, a production WSGI server, in this
process; or with gunicorn's pre-fork server in several."""
from __future__ import annotations

import logging
import os
import re

import waitress
import waitress.parser

from storysearch.index.embedding import MAX_QUERIES_WAITING

# More threads than requests allowed to wait for the embedding model, so a
# keyword search, a story page or a static file always finds a free one.
THREADS = MAX_QUERIES_WAITING + 8

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_waitress_split_uri = waitress.parser.split_uri


def _percent_encoded(raw: bytes) -> bytes:
    """Raw non-ASCII bytes of a request target percent-encoded. Browsers
    encode them themselves, but ``curl '…?q=乡贤'`` and many scripts send
    raw UTF-8, which waitress and gunicorn alone reject ("Bad URI", "Invalid
    HTTP request line")."""
    return _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], raw)


def _split_uri_accepting_utf8(uri: bytes):
    return _waitress_split_uri(_percent_encoded(uri))


waitress.parser.split_uri = _split_uri_accepting_utf8


def share_cores(processes: int = 1) -> int:
    """Divide the cores among a server's work, process-wide; only
    ``storysearch serve`` calls it, before the model is loaded. The embedding
    model gets half the cores (at least one) for query embeddings, shared
    out among the server's ``processes``, unless the setting
    ``model_threads`` says otherwise, so the request threads keep the
    rest: on 2 cores two model threads otherwise spin against them (a query
    took 130 ms instead of 37 ms on a busy machine). A vector search runs on
    one thread (index/vectors.search_on_one_thread). Returns the model's
    threads."""
    from storysearch.index import settings
    from storysearch.index.vectors import search_on_one_thread

    current = settings.current()
    threads = current.model_threads or max(1, (os.cpu_count() or 2) // 2 // processes)
    settings.use(settings.Settings({**current.values, "model_threads": threads},
                                   {**current.given, "model_threads": current.given.get("model_threads", "serve")}))
    search_on_one_thread()
    return threads


def create_server(app, host: str = "127.0.0.1", port: int = 5000, threads: int = THREADS):
    """A waitress server bound to host:port; ``.run()`` serves until stopped."""
    return waitress.create_server(app, host=host, port=port, threads=threads, ident="storysearch")


def serve_forked(app, host: str, port: int, workers: int, after_fork, threads: int = THREADS) -> None:
    """Serve ``app`` from ``workers`` processes forked from this one, each
    answering with ``threads`` threads (gunicorn, gthread workers), until
    stopped (Ctrl-C or SIGTERM: gunicorn's graceful stop).

    A request's Python work (ranking, snippets, JSON) runs one request at a
    time in a process, under its GIL; processes run it side by side. The
    app, its index and the model are loaded here first and the processes
    forked from this one (gunicorn's preload), so they share those pages
    until one writes to them. ``after_fork()`` runs in each new process
    (threads do not survive a fork: the index watcher is started again)."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.http.message import Request

    parse_request_line = Request.parse_request_line
    Request.parse_request_line = lambda request, line: parse_request_line(request, _percent_encoded(bytes(line)))

    class Forked(BaseApplication):
        def load_config(self):
            for name, value in {"bind": [f"{host}:{port}"], "workers": workers, "worker_class": "gthread",
                                "threads": threads, "preload_app": True, "proc_name": "storysearch",
                                "control_socket_disable": True,
                                "post_fork": lambda _arbiter, _worker: after_fork()}.items():
                self.cfg.set(name, value)

        def load(self):
            return app

    Forked().run()


def show_access_log() -> None:
    """The app's access lines (logger ``storysearch.access``) on stderr, as they are, without the
    timestamp and level the other log lines get."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("storysearch.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
