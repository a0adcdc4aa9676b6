"""CSRF tokens: a secret per session, a differently masked token in every response.

Cross-site request forgery: a page on another site makes the victim's browser send a
request to this one, and the browser attaches the session cookie. The defence is a value
the other site cannot read: a per-session secret, kept in the session on the server, that
the page must send back with every unsafe request (form field ``csrf_token`` or header
``X-CSRF-Token``).

The token in a page is the secret XORed with a fresh random pad (``pad + pad^secret``), so
each render differs (compression side channels such as BREACH cannot recover it from
repeated responses) yet every one of them verifies. Comparison uses
``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import HTTPConnection

from tidal.http.requests import Request
from tidal.security.signing import BadSignature, b64decode, b64encode
from tidal.sessions.session import CSRF_SECRET_KEY, HttpSession, get_session
from tidal.types import Scope

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_ATTRIBUTE = "__tidal_csrf_exempt__"
SECRET_BYTES = 32
T = TypeVar("T", bound=Callable[..., Any])
# Finds the handler (or mounted app) a scope is routed to, to read ``@csrf_exempt``.
RouteTarget = Callable[[Scope], object]


def new_secret() -> str:
    return b64encode(secrets.token_bytes(SECRET_BYTES))


def _secret_bytes(secret: str) -> bytes | None:
    try:
        raw = b64decode(secret)
    except BadSignature:
        return None
    return raw if len(raw) == SECRET_BYTES else None


def mask(secret: str) -> str:
    """A token for ``secret``: different every call, each one verifying."""
    raw = _secret_bytes(secret)
    if raw is None:
        raise ValueError("Not a CSRF secret.")
    pad = secrets.token_bytes(SECRET_BYTES)
    return b64encode(pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True)))


def unmask(token: str) -> bytes | None:
    """The secret inside ``token``, or None when it is not a well-formed token."""
    if len(token) != 86:
        return None
    try:
        raw = b64decode(token)
    except BadSignature:
        return None
    if len(raw) != 2 * SECRET_BYTES:
        return None
    pad, masked = raw[:SECRET_BYTES], raw[SECRET_BYTES:]
    return bytes(a ^ b for a, b in zip(pad, masked, strict=True))


def tokens_match(token: str, secret: str) -> bool:
    """Whether ``token`` was made from ``secret``, compared in constant time."""
    expected = _secret_bytes(secret)
    found = unmask(token)
    if expected is None or found is None:
        return False
    return hmac.compare_digest(found, expected)


def session_secret(session: HttpSession, *, create: bool = True) -> str | None:
    """The session's CSRF secret, created (and the session marked modified) if missing."""
    secret = session.get(CSRF_SECRET_KEY)
    if isinstance(secret, str) and _secret_bytes(secret) is not None:
        return secret
    if not create:
        return None
    secret = session[CSRF_SECRET_KEY] = new_secret()
    return secret


async def get_csrf_token(request: HTTPConnection | Scope) -> str:
    """A fresh masked CSRF token for the request's session, to put in a form
    (``<input type="hidden" name="csrf_token" value="...">``), a ``<meta>`` tag for
    scripts to send as ``X-CSRF-Token``, or a WebSocket URL. Starts a session if needed."""
    scope = request.scope if isinstance(request, HTTPConnection) else request
    session = await get_session(scope)
    secret = session_secret(session)
    assert secret is not None
    return mask(secret)


class CsrfToken(str):
    """A masked CSRF token for the current session: ``async def form(csrf: CsrfToken)``."""

    __slots__ = ()


async def provide_csrf_token(request: Request) -> CsrfToken:
    """The provider behind ``CsrfToken`` parameters."""
    return CsrfToken(await get_csrf_token(request))


def csrf_exempt(target: T) -> T:
    """Turn CSRF protection off for one route (the handler) or mounted ASGI application:

        @app.post("/hooks/payment")
        @csrf_exempt
        async def payment_hook(...): ...

    Only for endpoints that authenticate otherwise (a webhook's signature). Exempt routes
    are logged at start-up and listed by ``tidal check --deploy``.
    """
    setattr(target, EXEMPT_ATTRIBUTE, True)
    return target


def is_csrf_exempt(target: object) -> bool:
    return getattr(target, EXEMPT_ATTRIBUTE, False) is True


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "CsrfToken",
    "RouteTarget",
    "csrf_exempt",
    "get_csrf_token",
    "is_csrf_exempt",
    "mask",
    "new_secret",
    "provide_csrf_token",
    "session_secret",
    "tokens_match",
    "unmask",
]
