"""Refuse cross-site request forgery before any handler runs (see ``tidal.security.csrf``).

For each unsafe request (not GET/HEAD/OPTIONS/TRACE), in order:

1. exempt: a route marked ``@csrf_exempt``, or an ``Authorization: Bearer`` request
   (browsers never add that header by themselves, so it proves the caller holds the token);
2. origin: an ``Origin`` header must be this site or a trusted origin; without one, an
   HTTPS request carrying the session cookie must have a same-site ``Referer``;
3. token: a request carrying the session cookie must send a CSRF token of its session, in
   the ``X-CSRF-Token`` header or the ``csrf_token`` field of a form body. The body is read
   for that and replayed to the handler untouched.

WebSocket handshakes from another site's pages (cross-site WebSocket hijacking) are refused
with 403 unless their route is exempt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from tidal.http.endpoint import check_content_length
from tidal.http.errors import Forbidden, HTTPError, PayloadTooLarge, send_error
from tidal.security.csrf import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    RouteTarget,
    is_csrf_exempt,
    session_secret,
    tokens_match,
)
from tidal.security.origins import check_origin, is_secure, origin_allowed, site_origin
from tidal.sessions.session import SCOPE_KEY, HttpSession
from tidal.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from tidal.conf.settings import Settings

logger = logging.getLogger("tidal.security.csrf")
CHECKED_KEY = "tidal.csrf.checked"
_HEADER = CSRF_HEADER.encode()
_FORM = b"application/x-www-form-urlencoded"
_MULTIPART = b"multipart/form-data"
_TOKEN_LIMIT = 256


class CSRFMiddleware:
    """The CSRF and cross-site WebSocket check, as described in the module docstring.

    Args:
        app: the next application.
        settings: the application's settings (``csrf_trusted_origins``, ``https``,
            ``cors_origins``, ``max_body_size``).
        route_target: finds the handler (or mounted app) a scope goes to, to read
            ``@csrf_exempt``; None means no route is exempt.
    """

    def __init__(
        self, app: ASGIApp, *, settings: Settings, route_target: RouteTarget | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.route_target = route_target
        self.max_body = settings.max_body_size
        # Cookie-less requests carry no one's credentials; origins allowed by CORS may
        # send those (say, a public API called from a partner's front end).
        self.cookieless_origins: Sequence[str] = list(settings.cors_origins)

    def exempt(self, scope: Scope) -> bool:
        if self.route_target is None:
            return False
        return is_csrf_exempt(self.route_target(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self.check_websocket(scope, receive, send)
            return
        if kind != "http" or scope["method"] in SAFE_METHODS or scope.get(CHECKED_KEY):
            await self.app(scope, receive, send)
            return
        origin = referer = token = None
        content_type = b""
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value.decode("latin-1")
            elif key == b"referer":
                referer = value.decode("latin-1")
            elif key == _HEADER:
                token = value.decode("latin-1")
            elif key == b"content-type":
                content_type = value
            elif key == b"authorization" and value[:7].lower() == b"bearer ":
                await self.app(scope, receive, send)
                return
        if self.exempt(scope):
            await self.app(scope, receive, send)
            return
        session = scope.get(SCOPE_KEY)
        cookie_auth = isinstance(session, HttpSession) and session.cookie_id is not None
        problem = self.origin_problem(scope, origin, referer, cookie_auth)
        if problem is not None:
            await self.refuse(scope, send, problem)
            return
        if not cookie_auth:
            await self.app(scope, receive, send)
            return
        assert isinstance(session, HttpSession)
        media = content_type.partition(b";")[0].strip().lower()
        if token is None and media in (_FORM, _MULTIPART):
            try:
                body, receive = await self.buffer_body(scope, receive)
            except HTTPError as exc:
                await send_error(scope, send, exc)
                return
            token = form_field(body, content_type, CSRF_FIELD)
        problem = await self.token_problem(session, token)
        if problem is not None:
            await self.refuse(scope, send, problem)
            return
        scope[CHECKED_KEY] = True
        await self.app(scope, receive, send)

    def origin_problem(
        self, scope: Scope, origin: str | None, referer: str | None, cookie_auth: bool
    ) -> str | None:
        settings = self.settings
        extra = () if cookie_auth else self.cookieless_origins
        if origin is not None:
            if origin_allowed(origin, scope, settings, extra):
                return None
            return (
                f"CSRF check failed: this request was sent by a page of {origin!r}, not "
                f"of this site ({site_origin(scope, settings)}). If that origin is yours, "
                "add it to TIDAL_CSRF_TRUSTED_ORIGINS."
            )
        if cookie_auth and is_secure(scope, settings):
            if referer is None:
                return (
                    "CSRF check failed: this HTTPS request has neither an Origin nor a "
                    "Referer header, so where it comes from cannot be verified. Browsers "
                    "send them unless a Referrer-Policy of no-referrer forbids it."
                )
            if not origin_allowed(referer, scope, settings, extra):
                return (
                    "CSRF check failed: the Referer is a page of another site. If that "
                    "site is yours, add its origin to TIDAL_CSRF_TRUSTED_ORIGINS."
                )
        return None

    @staticmethod
    async def token_problem(session: HttpSession, token: str | None) -> str | None:
        if token is None:
            return (
                "CSRF check failed: the CSRF token is missing. Forms must include the "
                "field csrf_token = get_csrf_token(request); scripts send it in the "
                "X-CSRF-Token header."
            )
        await session.load()
        secret = session_secret(session, create=False)
        if secret is None:
            return (
                "CSRF check failed: no CSRF token was issued to this session (it may have "
                "expired). Reload the page and submit again."
            )
        if not tokens_match(token, secret):
            return (
                "CSRF check failed: the CSRF token is not valid for this session (it comes "
                "from another session or an outdated page). Reload the page and submit again."
            )
        return None

    async def buffer_body(self, scope: Scope, receive: Receive) -> tuple[bytes, Receive]:
        """Read the whole body (within ``max_body_size``) and a ``receive`` that replays it."""
        check_content_length(scope, self.max_body)
        chunks: list[bytes] = []
        size = 0
        pending: list[Message] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                pending.append(message)
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(f"The request body is larger than {self.max_body} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        pending.insert(0, {"type": "http.request", "body": body, "more_body": False})

        async def replay() -> Message:
            if pending:
                return pending.pop(0)
            return await receive()

        return body, replay

    async def check_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not check_origin(scope, self.settings) and not self.exempt(scope):
            logger.warning(
                "Refused cross-site WebSocket %s from Origin %r",
                scope.get("path"),
                dict(scope["headers"]).get(b"origin"),
            )
            await send(
                {
                    "type": "websocket.close",
                    "code": 1008,
                    "reason": "Cross-site WebSocket: origin not allowed",
                }
            )
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def refuse(scope: Scope, send: Send, detail: str) -> None:
        logger.warning("Refused %s %s: %s", scope["method"], scope["path"], detail)
        await send_error(scope, send, Forbidden(detail))


def form_field(body: bytes, content_type: bytes, name: str) -> str | None:
    """The value of field ``name`` in a urlencoded or multipart body, or None."""
    if content_type.partition(b";")[0].strip().lower() == _MULTIPART:
        return _multipart_field(body, content_type, name)
    values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(name)
    return values[0] if values else None


def _multipart_field(body: bytes, content_type: bytes, name: str) -> str | None:
    """Scan a multipart body for one small field, without spooling uploaded files."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        return None
    wanted = name.encode()
    state: dict[str, Any] = {"field": b"", "value": b"", "name": None, "data": [], "found": None}

    def on_part_begin() -> None:
        state["name"] = None
        state["data"] = []

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if state["field"].lower() == b"content-disposition":
            state["name"] = parse_options_header(state["value"])[1].get(b"name")
        state["field"] = state["value"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["name"] == wanted and sum(map(len, state["data"])) < _TOKEN_LIMIT:
            state["data"].append(data[start:end])

    def on_part_end() -> None:
        if state["name"] == wanted and state["found"] is None:
            state["found"] = b"".join(state["data"])

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError:
        return None
    found: bytes | None = state["found"]
    return found.decode("latin-1") if found is not None else None


__all__ = ["CHECKED_KEY", "CSRFMiddleware", "form_field"]
