"""Serving the app with waitress, a production WSGI server."""
from __future__ import annotations

import re

import waitress
import waitress.parser

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_waitress_split_uri = waitress.parser.split_uri


def _split_uri_accepting_utf8(uri: bytes):
    """Percent-encode raw non-ASCII bytes before waitress parses the request
    target. Browsers encode them themselves, but ``curl '…?q=乡贤'`` and many
    scripts send raw UTF-8, which waitress alone rejects with "Bad URI"."""
    return _waitress_split_uri(_NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], uri))


waitress.parser.split_uri = _split_uri_accepting_utf8


def create_server(app, host: str = "127.0.0.1", port: int = 5000, threads: int = 8):
    """A waitress server bound to host:port; ``.run()`` serves until stopped."""
    return waitress.create_server(app, host=host, port=port, threads=threads, ident="storysearch")
