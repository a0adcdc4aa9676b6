"""The exception tree. Every framework error has a stable code documented in docs/ref/errors.md.

    TidalError
    ├── ImproperlyConfigured (also ValueError)   a setting or declaration is wrong; fix and restart
    │   └── HandlerSignatureError (also TypeError) a handler's parameters cannot be compiled
    ├── AppNotFound (also LookupError)             the CLI cannot locate the application
    └── NoReverseMatch (also LookupError)          url_for() has no route with that name/params

HTTP errors raised from handlers (``HTTPError`` and friends) live in ``tidal.http.errors``;
they are answers to a client, not framework faults, and are not part of this tree.
"""

from __future__ import annotations

DOCS_URL = "https://tidal.dev/ref/errors#"


class TidalError(Exception):
    """Root of every error Tidal raises about itself."""

    code: str = "tidal"

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} (see {DOCS_URL}{self.code})"


class ImproperlyConfigured(TidalError, ValueError):
    """A setting, app or declaration is wrong; raised at start-up, never mid-request."""

    code = "improperly-configured"


class HandlerSignatureError(ImproperlyConfigured, TypeError):
    """A handler or dependency parameter has no source Tidal knows how to fill."""

    code = "handler-signature"


class AppNotFound(TidalError, LookupError):
    """The CLI could not import the application object."""

    code = "app-not-found"


class NoReverseMatch(TidalError, LookupError):
    """``url_for`` found no route with that name, or the parameters did not fit it."""

    code = "no-reverse-match"


__all__ = [
    "AppNotFound",
    "HandlerSignatureError",
    "ImproperlyConfigured",
    "NoReverseMatch",
    "TidalError",
]
