"""The checks a WebSocket handshake passes before it is accepted, as replaceable hooks.

Two hooks, both set on the ``Channels`` registry (``app.channels``):

* ``check_origin(websocket) -> bool`` refuses cross-site WebSocket hijacking: a browser
  always sends ``Origin`` on a WebSocket handshake and a page on another site must not ride
  on the user's cookies. The default (``same_origin``) allows a handshake whose Origin is
  the site itself (its host matches the ``Host`` header) or is listed in
  ``realtime_allowed_origins``; a handshake without ``Origin`` (not from a browser) passes.
* ``authenticate(websocket) -> user | None`` says who is connecting. ``None`` means
  anonymous (each channel's join handler decides what anonymous users may join); raise
  ``HTTPError(403)`` to refuse the handshake. The default returns ``scope["user"]`` if a
  middleware set one, else None.

A refused handshake is closed before accept, which the server answers with HTTP 403.

An ``authenticate`` hook that accepts credentials which end may say so in the scope, so
that the socket ends with them rather than living on after its handshake:

* ``scope[CREDENTIAL_KEY]``: a string naming the credentials (``"token:12"``);
  ``channels.revoke_credential("token:12")`` closes every socket they opened (1008).
* ``scope[EXPIRES_KEY]``: when they expire (a POSIX timestamp); the socket is closed with
  1008 ``"token expired"`` then, and ``channels.expire_credential`` moves that time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

CheckOrigin = Callable[[WebSocket], bool | Awaitable[bool]]
Authenticate = Callable[[WebSocket], Awaitable[Any]]
UserKey = Callable[[Any], str | None]

CREDENTIAL_KEY = "tidal.realtime.credential"
EXPIRES_KEY = "tidal.realtime.expires_at"

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _authority(scheme: str, netloc: str) -> str:
    """``host[:port]`` lowercased, without the scheme's default port."""
    host, sep, port = netloc.lower().rpartition(":")
    if not sep or "]" in port:  # no port (or the colon was inside an IPv6 literal)
        return netloc.lower()
    return host if _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Whether a handshake with this ``Origin`` and ``Host`` header may proceed.

    The site's own origin is recognised by its host and port alone: behind a proxy that
    terminates TLS the server sees ``ws`` while the page is ``https``.
    """
    if origin is None:
        return True
    if "*" in allowed or origin in allowed:
        return True
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc or host is None:
        return False
    own_scheme = "https" if parts.scheme == "https" else "http"
    return _authority(parts.scheme, parts.netloc) == _authority(own_scheme, host)


def same_origin(allowed: Sequence[str]) -> CheckOrigin:
    """The default ``check_origin``: the site itself or one of ``allowed``."""

    def check(websocket: WebSocket) -> bool:
        headers = websocket.headers
        return origin_allowed(headers.get("origin"), headers.get("host"), allowed)

    return check


async def scope_user(websocket: WebSocket) -> Any:
    """The default ``authenticate``: the user an authentication middleware put in the
    scope, or None (anonymous)."""
    return websocket.scope.get("user")


def default_user_key(user: Any) -> str | None:
    """Who a user is, as a string, for presence keys and ``disconnect_user``."""
    if user is None:
        return None
    if isinstance(user, Mapping):
        value = user.get("id", user.get("pk"))
        return None if value is None else str(value)
    for attribute in ("id", "pk"):
        value = getattr(user, attribute, None)
        if value is not None:
            return str(value)
    return str(user)


__all__ = [
    "CREDENTIAL_KEY",
    "EXPIRES_KEY",
    "Authenticate",
    "CheckOrigin",
    "UserKey",
    "default_user_key",
    "origin_allowed",
    "same_origin",
    "scope_user",
]
