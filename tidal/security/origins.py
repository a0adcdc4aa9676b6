"""Origin checks: is a request (or WebSocket handshake) coming from this site's own pages?

Browsers attach cookies to requests another site triggers: a form posted from evil.example,
or a WebSocket opened by a script on it (cross-site WebSocket hijacking). They also send an
``Origin`` header that scripts cannot forge. Comparing it with the site's own origin, from
the (validated) Host header, refuses those requests; ``csrf_trusted_origins`` lists other
origins allowed in, such as a separate front-end domain.

Also here: authenticating a WebSocket with the same session as HTTP, for the real-time layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from starlette.websockets import WebSocket, WebSocketState

from tidal.http.errors import Forbidden
from tidal.security.csrf import CSRF_FIELD, tokens_match
from tidal.security.hosts import split_host
from tidal.sessions.session import CSRF_SECRET_KEY, HttpSession, get_session
from tidal.types import Scope

if TYPE_CHECKING:
    from tidal.conf.settings import Settings

logger = logging.getLogger("tidal.security.origins")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def normalize_origin(value: str) -> str | None:
    """``scheme://host[:port]`` lowercased, default port dropped; None for ``null``, other
    schemes or anything malformed."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    host = split_host(parts.netloc)
    if host is None:
        return None
    name, port = host
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    return f"{scheme}://{name}{':' + port if port else ''}"


def is_secure(scope: Scope, settings: Settings) -> bool:
    """Served over TLS: the scheme says so, or ``https`` says a proxy terminates it."""
    return settings.https or scope.get("scheme") in ("https", "wss")


def site_host(scope: Scope) -> str | None:
    """``host[:port]`` of this request from its Host header, normalized."""
    for key, value in scope["headers"]:
        if key == b"host":
            host = split_host(value.decode("latin-1"))
            if host is None:
                return None
            return f"{host[0]}:{host[1]}" if host[1] else host[0]
    return None


def site_origin(scope: Scope, settings: Settings) -> str | None:
    """This site's origin as the browser sees it, e.g. ``https://example.com``."""
    host = site_host(scope)
    if host is None:
        return None
    scheme = "https" if is_secure(scope, settings) else "http"
    return normalize_origin(f"{scheme}://{host}")


def origin_matches(origin: str, patterns: Sequence[str]) -> bool:
    """Whether normalized ``origin`` is one of ``patterns`` (origins, where
    ``https://*.example.com`` matches the subdomains of example.com)."""
    scheme, _, rest = origin.partition("://")
    for pattern in patterns:
        normalized = normalize_origin(pattern.replace("*.", "wildcard.", 1))
        if normalized is None:
            continue
        if "*." not in pattern:
            if normalized == origin:
                return True
            continue
        p_scheme, _, p_rest = normalized.partition("://")
        suffix = p_rest[len("wildcard") :]
        if p_scheme == scheme and rest.endswith(suffix) and len(rest) > len(suffix):
            return True
    return False


def origin_allowed(
    origin: str, scope: Scope, settings: Settings, extra: Sequence[str] = ()
) -> bool:
    """Whether a request from ``origin`` (an Origin header value) may act on this site:
    the site itself (an https page of the same host counts; an http one does not when the
    site is https), or a trusted origin."""
    normalized = normalize_origin(origin)
    if normalized is None:
        return False
    own = site_origin(scope, settings)
    if own is not None:
        if normalized == own:
            return True
        if normalized.startswith("https://") and normalized[8:] == own.partition("://")[2]:
            return True
    return origin_matches(normalized, [*settings.csrf_trusted_origins, *extra])


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def websocket_origins(settings: Settings) -> list[str]:
    """Origins besides the site's own allowed to open WebSockets: ``csrf_trusted_origins``
    and the real-time layer's ``realtime_allowed_origins`` ("*" there allows any)."""
    return [*settings.csrf_trusted_origins, *getattr(settings, "realtime_allowed_origins", ())]


def check_origin(scope: Scope, settings: Settings) -> bool:
    """Whether a WebSocket handshake may proceed: its Origin is this site or an allowed
    origin (``websocket_origins``). A handshake without Origin comes from a non-browser
    client (browsers always send it), which carries no victim's cookies, so it passes."""
    origin = header(scope, b"origin")
    if origin is None:
        return True
    extra = websocket_origins(settings)
    return "*" in extra or origin_allowed(origin, scope, settings, extra)


async def websocket_session(websocket: WebSocket | Scope) -> HttpSession:
    """The session of a WebSocket's browser, read from the same cookie and store as HTTP."""
    scope = websocket.scope if isinstance(websocket, WebSocket) else websocket
    return await get_session(scope)


def _settings_of(scope: Scope) -> Settings:
    app: Any = scope.get("tidal.app")
    if app is None:
        raise RuntimeError("authenticate_websocket needs a WebSocket served by a Tidal app.")
    settings: Settings = app.settings
    return settings


async def authenticate_websocket(
    websocket: WebSocket, *, require_csrf: bool = True, wait: float = 10.0
) -> HttpSession:
    """Check a WebSocket like an HTTP request and return its loaded session.

    1. The Origin must be this site or a trusted origin (cross-site WebSocket hijacking).
    2. The session comes from the session cookie, exactly as for HTTP.
    3. With ``require_csrf``, the page's CSRF token must come along: as the query
       parameter ``?csrf_token=...`` (checked before accepting), or else as the first
       message, a JSON object ``{"csrf_token": "..."}``, awaited for ``wait`` seconds
       (this accepts the socket first).

    Raises ``Forbidden`` on any failure; a Tidal WebSocket route turns that into a refused
    handshake (403), or a close with code 1008 once accepted.
    """
    scope = websocket.scope
    settings = _settings_of(scope)
    if not check_origin(scope, settings):
        logger.warning("Refused WebSocket %s from Origin %r", scope.get("path"), _origin(scope))
        raise Forbidden("Cross-site WebSocket refused: the Origin is not this site.")
    session = await websocket_session(websocket)
    if not require_csrf:
        return session
    token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(CSRF_FIELD, [None])[-1]
    if token is None:
        if websocket.application_state is WebSocketState.CONNECTING:
            await websocket.accept()
        try:
            first = await asyncio.wait_for(websocket.receive_json(), wait)
        except (TimeoutError, ValueError, KeyError):
            first = None
        token = first.get(CSRF_FIELD) if isinstance(first, dict) else None
    secret = session.get(CSRF_SECRET_KEY)
    if not isinstance(token, str) or not isinstance(secret, str) or not tokens_match(token, secret):
        logger.warning("Refused WebSocket %s: missing or invalid CSRF token", scope.get("path"))
        raise Forbidden(
            "WebSocket refused: send the page's CSRF token as ?csrf_token= or in the first "
            'message as {"csrf_token": "..."}.'
        )
    return session


def _origin(scope: Scope) -> str | None:
    return header(scope, b"origin")


__all__ = [
    "authenticate_websocket",
    "check_origin",
    "is_secure",
    "normalize_origin",
    "origin_allowed",
    "origin_matches",
    "site_origin",
    "websocket_origins",
    "websocket_session",
]
