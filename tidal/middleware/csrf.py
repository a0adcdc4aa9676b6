"""Refuse cross-site request forgery before any handler runs (see ``tidal.security.csrf``).

For each unsafe request (not GET/HEAD/OPTIONS/TRACE), in order:

1. exempt: a route marked ``@csrf_exempt``, or an ``Authorization: Bearer`` request
   (browsers never add that header by themselves, so it proves the caller holds the token);
2. origin: an ``Origin`` header must be this site or a trusted origin; without one, an
   HTTPS request carrying the session cookie must have a same-site ``Referer``;
3. token: a request carrying the session cookie must send a CSRF token of its session, in
   the ``X-CSRF-Token`` header or the ``csrf_token`` field of a form body. A urlencoded body
   is read for that (within ``max_body_size``); a multipart body only up to the end of its
   ``csrf_token`` part, which must end within ``MULTIPART_SCAN_LIMIT`` bytes (forms put it
   first), so an upload is never held in memory. What was read is replayed to the handler
   untouched, followed by the rest of the stream.

WebSocket handshakes from another site's pages (cross-site WebSocket hijacking) are refused
with 403 unless their route is exempt.
"""

from __future__ import annotations

import logging
from collections import deque
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
#: Bytes of a multipart body read, at most, to find its ``csrf_token`` part (plus the rest
#: of the chunk that crosses it). Enough for the token and a few small fields before it.
MULTIPART_SCAN_LIMIT = 65_536


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
        problem = None
        if token is None and media in (_FORM, _MULTIPART):
            try:
                if media == _MULTIPART:
                    token, problem, receive = await self.scan_multipart(
                        scope, receive, content_type
                    )
                else:
                    body, receive = await self.buffer_body(scope, receive)
                    token = form_field(body, content_type, CSRF_FIELD)
            except HTTPError as exc:
                await send_error(scope, send, exc)
                return
        problem = problem or await self.token_problem(session, token)
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

    async def scan_multipart(
        self, scope: Scope, receive: Receive, content_type: bytes
    ) -> tuple[str | None, str | None, Receive]:
        """Read a multipart body until its ``csrf_token`` part ends; return the token (or
        None), a problem when the part is not within ``MULTIPART_SCAN_LIMIT`` bytes, and a
        ``receive`` that replays the messages read, then passes the rest of the stream."""
        check_content_length(scope, self.max_body)
        scanner = MultipartScanner(content_type, CSRF_FIELD)
        read: deque[Message] = deque()
        size = 0
        problem = None
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if scanner.feed(chunk) or not message.get("more_body", False):
                break
            if size >= MULTIPART_SCAN_LIMIT:
                problem = (
                    f"CSRF check failed: no csrf_token field in the first "
                    f"{MULTIPART_SCAN_LIMIT} bytes of this multipart form. The token is "
                    "checked before the rest of the body is read, so the csrf_token field "
                    "must come first in the form, before any file input ({{ form }} and "
                    "{{ csrf_input() }} at the top of the <form> put it there); scripts "
                    "can send the X-CSRF-Token header instead."
                )
                break

        async def replay() -> Message:
            if read:
                return read.popleft()
            return await receive()

        return scanner.found, problem, replay

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
    """The value of field ``name`` in a (whole) urlencoded or multipart body, or None."""
    if content_type.partition(b";")[0].strip().lower() == _MULTIPART:
        scanner = MultipartScanner(content_type, name)
        scanner.feed(body)
        return scanner.found
    values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(name)
    return values[0] if values else None


class MultipartScanner:
    """Looks for one small field in a multipart body fed chunk by chunk, keeping nothing
    but that field's value (at most 256 bytes of it): file parts pass through unstored.

    Args:
        content_type: the request's ``Content-Type`` header, with the boundary.
        name: the field to find.
    """

    def __init__(self, content_type: bytes, name: str) -> None:
        from python_multipart.multipart import MultipartParser, parse_options_header

        self._parse_options = parse_options_header
        self.wanted = name.encode()
        self.found: str | None = None
        self.done = False
        self._field = self._value = b""
        self._name: bytes | None = None
        self._data: list[bytes] = []
        self._size = 0
        boundary = parse_options_header(content_type)[1].get(b"boundary")
        if not boundary:
            self.done = True
            return
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self._parser = MultipartParser(boundary, callbacks)

    def feed(self, chunk: bytes) -> bool:
        """Parse the next chunk; True once the field was found or the body is malformed
        (``found`` stays None then): feeding more is pointless."""
        if self.done or not chunk:
            return self.done
        from python_multipart.exceptions import FormParserError

        try:
            self._parser.write(chunk)
        except FormParserError:
            self.done = True
        return self.done

    def _part_begin(self) -> None:
        self._name = None
        self._data = []
        self._size = 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._field.lower() == b"content-disposition":
            self._name = self._parse_options(self._value)[1].get(b"name")
        self._field = self._value = b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == self.wanted and self._size < _TOKEN_LIMIT:
            self._data.append(data[start:end])
            self._size += end - start

    def _part_end(self) -> None:
        if self._name == self.wanted and not self.done:
            self.found = b"".join(self._data).decode("latin-1")
            self.done = True


__all__ = [
    "CHECKED_KEY",
    "MULTIPART_SCAN_LIMIT",
    "CSRFMiddleware",
    "MultipartScanner",
    "form_field",
]
