"""Which URL the app says it is at: the ``public_url`` setting when given,
otherwise relative URLs under the prefix a trusted proxy sends, once that
prefix is checked to be a path (never ``//host``, a scheme or a backslash)."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from werkzeug.middleware.proxy_fix import ProxyFix

from .settings import PATH_PREFIX, WebSettings

log = logging.getLogger(__name__)


class CheckedPrefix:
    """Drops an ``X-Forwarded-Prefix`` that is not a path before ProxyFix
    would use it for every link and script, with a warning."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        prefix = environ.get("HTTP_X_FORWARDED_PREFIX")
        if prefix is not None and not PATH_PREFIX.fullmatch(prefix):
            log.warning("ignored X-Forwarded-Prefix %r: not a URL path like /search", prefix)
            del environ["HTTP_X_FORWARDED_PREFIX"]
        return self.app(environ, start_response)


class PublicURL:
    """Scheme, host and prefix from the ``public_url`` setting, whatever the
    request's Host and forwarded headers said."""

    def __init__(self, app, public_url: str):
        self.app = app
        parts = urlsplit(public_url)
        self.scheme, self.host, self.prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")

    def __call__(self, environ, start_response):
        environ.update({"wsgi.url_scheme": self.scheme, "HTTP_HOST": self.host, "SCRIPT_NAME": self.prefix})
        return self.app(environ, start_response)


def wrap(wsgi_app, settings: WebSettings):
    """The app behind the proxy handling and the public URL that the settings ask for."""
    if settings.public_url:
        wsgi_app = PublicURL(wsgi_app, settings.public_url)
    if settings.behind_proxy:
        wsgi_app = CheckedPrefix(ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1))
    return wsgi_app
