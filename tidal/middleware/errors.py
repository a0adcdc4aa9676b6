"""The outer middleware: request ids, security headers, response hooks, the access log, the
last-resort error handler and, for HTTP requests, the host check and the session.

One frame does all of it, with one per-request ``Exchange`` around ``send`` (it sees the
status for the log and whether the response started for the error handler), and answers
plain routes without the router at all: measured in instructions (docs/performance.md, "The
request path"), each middleware layer cost a request about as much as the request id, and
the whole of Tidal's own code is now a tenth of a request on uvicorn. No exception reaches
the server, and no traceback reaches a client unless debug is on.
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from tidal.http.errors import HTTPError, html_page, send_error, wants_html
from tidal.http.responses import Response, encode_result
from tidal.middleware.base import direct_call
from tidal.middleware.hooks import EXCHANGE, Exchange
from tidal.templates.debug import template_error_summary
from tidal.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from tidal.security.protections import Protections
    from tidal.sessions.session import HttpSession

logger = logging.getLogger("tidal.request")
access_logger = logging.getLogger("tidal.access")
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_encode = msgspec.json.Encoder().encode
_INFO = logging.INFO
_GET_HEAD = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, eq=False)
class PlainRoute:
    """A route the outer middleware answers itself (see ``ServerErrorMiddleware``).

    Attributes:
        handler: an ``async def`` taking no parameters.
        status_code: the route's success status, None for the default.
        prepare: puts in the scope what the router would have (application, session),
            before a ``Response`` the handler returned runs.
    """

    handler: Callable[[], Awaitable[object]]
    status_code: int | None
    prepare: Callable[[Scope], None]


def _id_source() -> itertools.count[int]:
    return itertools.count(1)


# The pid, kept current across forks without a system call per request.
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


class ServerErrorMiddleware:
    """Give each request an id (the client's ``X-Request-ID`` when short and plain, else a
    new one unique to this process), echo it in the response, log one JSON line per request
    on ``tidal.access`` (when enabled for INFO), and turn an ``HTTPError`` raised by
    middleware into its response and any other exception into a 500.

    With ``protections``, an HTTP request is also checked here: its Host validated, its lazy
    ``HttpSession`` attached, then it goes to ``protections.inner`` (safe methods) or
    ``protections.unsafe`` (the CSRF check); other scopes go through ``protections.chain``.
    The result is what the chain of middleware would do, in one frame.

    With ``plain_routes``, a GET or HEAD to one of them is answered here: the handler is
    awaited and its result written with the headers every response gets, with no session,
    no ``Exchange``, no router and no endpoint frame. Nothing below this middleware could
    have seen such a request (the application compiled the table only when nothing runs
    between this middleware and its router), so the response is the same.

    Args:
        app: the next application (``protections.chain`` when protections are given).
        debug: show tracebacks on 500 pages.
        header: the request-id header name.
        access_log: log requests on ``tidal.access``.
        headers: ``(name, value)`` pairs added to every response that has not set that
            header itself (the security headers), so a handler's own value wins.
        protections: the application's compiled protections, run inline for HTTP.
        lazy_sessions: the application below attaches the session to requests with a
            safe method itself, where a handler can use it (Tidal's router, when no user
            middleware runs in between); unsafe ones get it here, for the CSRF check.
        plain_routes: path -> ``PlainRoute`` for handlers that take no parameters, on
            paths without parameters.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        debug: bool = False,
        header: str = "x-request-id",
        access_log: bool = True,
        headers: Sequence[tuple[str, str]] = (),
        protections: Protections | None = None,
        lazy_sessions: bool = False,
        plain_routes: Mapping[str, PlainRoute] | None = None,
    ) -> None:
        self.app = app
        # Encoded once; a response start only appends them.
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        self.header_names = frozenset(name for name, _ in self.headers)
        self.debug = debug
        self.header = header.lower().encode("latin-1")
        self.access_log = access_log
        # Imported here: the sessions and CSRF modules import the middleware package.
        from tidal.security.csrf import SAFE_METHODS
        from tidal.sessions.session import SCOPE_KEY

        self.safe_methods = SAFE_METHODS
        self.session_key = SCOPE_KEY
        # What each kind of request is handed to, as the cheapest callables to call.
        self.chain = self.inner = self.unsafe = direct_call(app)
        self.hosts = None
        self.new_session: Callable[[Scope], HttpSession] | None = None
        if protections is not None:
            self.inner = direct_call(protections.inner)
            self.unsafe = direct_call(protections.unsafe)
            self.hosts = protections.hosts
            self.new_session = protections.sessions.new_session
        self.safe_session = None if lazy_sessions else self.new_session
        self.plain_routes = plain_routes or None
        # ids are unique, not secret: a random per-process prefix and a counter. The app
        # may be built before a server forks its workers, so a new process re-draws it.
        self._pid = 0
        self._prefix = ""
        self._counter = _id_source()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "tidal.request_id" in scope:
            # Not HTTP, or a Tidal app mounted in another: the outer one did all this.
            await self.chain(scope, receive, send)
            return
        header = self.header
        request_id = None
        host = None
        hosts = 0
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
                hosts += 1
            elif key == header and request_id is None:
                request_id = value if _SAFE_ID.fullmatch(value) else b""
        if request_id:
            scope["tidal.request_id"] = request_id.decode()
        else:
            if self._pid != _pid[0]:
                self._pid, self._prefix = _pid[0], os.urandom(4).hex()
            scope["tidal.request_id"] = new_id = f"{self._prefix}{next(self._counter):08x}"
            request_id = new_id.encode()
        logging_on = self.access_log and access_logger.isEnabledFor(_INFO)
        started = time.perf_counter() if logging_on else 0.0
        hosts_check = self.hosts
        plain = self.plain_routes
        if (
            plain is not None
            and scope["method"] in _GET_HEAD
            and (hosts_check is None or (hosts == 1 and host in hosts_check.accepted))
            and not scope.get("root_path")
        ):
            route = plain.get(scope["path"])
            if route is not None:
                await self.answer_plain(route, scope, receive, send, request_id, started)
                return
        exchange = self.exchange(send, request_id)
        scope[EXCHANGE] = exchange
        send_with_id = exchange.send
        try:
            if hosts_check is not None and (hosts != 1 or host not in hosts_check.accepted):
                problem = hosts_check.check(scope, host, hosts)
                if problem is not None:
                    refused = host if hosts == 1 else None
                    await hosts_check.refuse(scope, send_with_id, refused, problem)
                    return
            if scope["method"] in self.safe_methods:
                if self.safe_session is not None:
                    scope[self.session_key] = self.safe_session(scope)
                await self.inner(scope, receive, send_with_id)
            else:
                if self.new_session is not None:
                    scope[self.session_key] = self.new_session(scope)
                await self.unsafe(scope, receive, send_with_id)
        except Exception as exc:
            await self.failed(scope, exchange, exc)
        finally:
            if logging_on:
                self.log(scope, exchange.status or 500, started)

    def exchange(self, send: Send, request_id: bytes) -> Exchange:
        exchange = Exchange()
        exchange.raw = send
        exchange.headers = self.headers
        exchange.names = self.header_names
        exchange.tail = (self.header, request_id)
        exchange.hooks = None
        exchange.status = 0
        exchange.send = exchange._send
        return exchange

    async def answer_plain(
        self,
        route: PlainRoute,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: bytes,
        started: float,
    ) -> None:
        """Answer a GET or HEAD to a plain route (see the class docstring); anything but
        plain data (a ``Response``, an exception) goes the usual way (``finish``).
        ``started`` is the access log's clock, 0.0 when the log is off."""
        try:
            result = await route.handler()
            encoded = encode_result(result, route.status_code)
        except Exception as exc:
            result, encoded = exc, None
        if encoded is None:
            await self.finish(scope, receive, send, request_id, route, result, started)
            return
        status, body, content_type = encoded
        headers = [(b"content-length", b"%d" % len(body))]
        if content_type is not None:
            headers.append((b"content-type", content_type))
        headers += self.headers
        headers.append((self.header, request_id))
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send(
                {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
            )
        except Exception:
            logger.exception(
                "Unhandled error in %s %s (request id %s)",
                scope["method"],
                scope["path"],
                scope["tidal.request_id"],
            )
            if scope.get("tidal.raise_exceptions"):
                raise
        finally:
            if started:
                self.log(scope, status, started)

    async def finish(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: bytes,
        route: PlainRoute,
        result: object,
        started: float,
    ) -> None:
        """The rest of a plain route's request the usual way: its handler returned a
        ``Response`` (which runs with the scope the router would have prepared) or raised."""
        exchange = self.exchange(send, request_id)
        scope[EXCHANGE] = exchange
        try:
            if isinstance(result, Exception):
                raise result
            assert isinstance(result, Response)
            route.prepare(scope)
            await result(scope, receive, exchange.send)
        except Exception as exc:
            await self.failed(scope, exchange, exc)
        finally:
            if started:
                self.log(scope, exchange.status or 500, started)

    async def failed(self, scope: Scope, exchange: Exchange, exc: Exception) -> None:
        """Answer an exception: an ``HTTPError`` with its response, anything else with a 500
        (after logging it); nothing when the response already started."""
        if isinstance(exc, HTTPError):
            if exchange.status:
                logger.warning("HTTPError %s raised after the response started", exc.status)
            else:
                await send_error(scope, exchange.send, exc)
            return
        logger.exception(
            "Unhandled error in %s %s (request id %s)",
            scope.get("method"),
            scope.get("path"),
            scope["tidal.request_id"],
            exc_info=exc,
        )
        if not exchange.status:
            await self.send_500(scope, exchange.send, exc)
        if scope.get("tidal.raise_exceptions"):  # TestClient(raise_app_exceptions=True)
            raise exc

    @staticmethod
    def log(scope: Scope, status: int, started: float) -> None:
        client = scope.get("client")
        access_logger.info(
            _encode(
                {
                    "request_id": scope["tidal.request_id"],
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "client": client[0] if client else None,
                }
            ).decode()
        )

    async def send_500(self, scope: Scope, send: Send, exc: Exception) -> None:
        if not self.debug:
            await send_error(scope, send, HTTPError(500, "The server hit an unexpected error."))
            return
        trace = "".join(traceback.format_exception(exc))
        detail = f"{type(exc).__name__}: {exc}"
        where = template_error_summary(exc)
        if where:
            detail = f"{detail} — {where}"
        if wants_html(scope):
            body = html_page(
                "500 Internal Server Error (debug)",
                detail,
                f"<h2>Traceback</h2><pre>{html.escape(trace)}</pre>"
                "<p>This page is shown because TIDAL_DEBUG is on.</p>",
            )
            headers = [(b"content-type", b"text/html; charset=utf-8")]
        else:
            body = trace.encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})


__all__ = ["PlainRoute", "ServerErrorMiddleware"]
