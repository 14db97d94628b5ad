"""Deployment settings of the web app, checked: the server's part of the one
settings table (index/settings.py), from a TOML file, then the environment.

    frame_ancestors = ["https://portal.example.gov.cn"]   # STORYSEARCH_FRAME_ANCESTORS
    cors_origins = ["https://portal.example.gov.cn"]      # STORYSEARCH_CORS_ORIGINS
    behind_proxy = true                                    # STORYSEARCH_BEHIND_PROXY=1
    embed_target = "_blank"                                # STORYSEARCH_EMBED_TARGET
    public_url = "https://news.example.gov.cn/search"      # STORYSEARCH_PUBLIC_URL
    access_log = "on"                                      # STORYSEARCH_ACCESS_LOG: on, query or off

Environment variables take space-separated origin lists and win over the file.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storysearch.index import settings as table
from storysearch.index.settings import SettingsError

EMBED_TARGETS = ("_blank", "_parent", "_top", "_self")
ACCESS_LOGS = ("on", "query", "off")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
# A URL path prefix: segments of URL path characters, no empty one (so never
# "//host"), no backslash, comma, control character, query or fragment.
PATH_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+;=:@%\-]+)*/?")
PUBLIC_URL = re.compile(r"(?:https?://[A-Za-z0-9.\-\[\]:]+)(?P<path>/.*)?", re.DOTALL)


def _origins(name: str, values) -> tuple[str, ...]:
    if isinstance(values, str):
        values = values.split()
    origins = tuple(v.rstrip("/") for v in values)
    for origin in origins:
        if not ORIGIN.match(origin):
            raise SettingsError(f"{name}: {origin!r} is not an origin like https://portal.example.org")
    return origins


def _public_url(value) -> str | None:
    if value is None or value == "":
        return None
    match = PUBLIC_URL.fullmatch(value) if isinstance(value, str) else None
    if match is None or not PATH_PREFIX.fullmatch(match["path"] or ""):
        raise SettingsError(f"public_url: {value!r} is not a URL like https://news.example.gov.cn/search "
                            f"(http or https, a host, a path without query or fragment)")
    return value.rstrip("/")


@dataclass(frozen=True)
class WebSettings:
    frame_ancestors: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    behind_proxy: bool = False
    embed_target: str = "_blank"
    public_url: str | None = None  # where users reach the app; None: relative URLs
    access_log: str = "on"  # on: paths only; query: with the query string; off

    @classmethod
    def load(cls, path: Path | None = None, environ: Mapping[str, str] | None = None) -> "WebSettings":
        """The server's settings from ``path`` (or ``STORYSEARCH_CONFIG``) and the environment."""
        return cls.from_settings(table.load(environ, path))

    @classmethod
    def from_settings(cls, values: table.Settings) -> "WebSettings":
        embed_target = values.embed_target
        if embed_target not in EMBED_TARGETS:
            raise SettingsError(f"embed_target must be one of {', '.join(EMBED_TARGETS)}, not {embed_target!r}")
        access_log = {True: "on", False: "off"}.get(values.access_log, values.access_log)  # TOML may say true/false
        if access_log not in ACCESS_LOGS:
            raise SettingsError(f"access_log must be one of {', '.join(ACCESS_LOGS)}, not {values.access_log!r}")
        proxy = values.behind_proxy
        return cls(
            frame_ancestors=_origins("frame_ancestors", values.frame_ancestors),
            cors_origins=_origins("cors_origins", values.cors_origins),
            behind_proxy=proxy if isinstance(proxy, bool) else str(proxy).strip().lower() in ("1", "true", "yes", "on"),
            embed_target=embed_target,
            public_url=_public_url(values.public_url),
            access_log=access_log,
        )
