"""The outermost middleware: no exception reaches the server, no traceback reaches a client
unless debug is on."""

from __future__ import annotations

import html
import logging
import traceback

from tidal.http.errors import HTTPError, html_page, send_error, wants_html
from tidal.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("tidal.request")


class ServerErrorMiddleware:
    """Turn ``HTTPError`` raised by middleware into its response, and any other exception
    into a 500 (problem+json, or an HTML page; with ``debug``, the traceback)."""

    def __init__(self, app: ASGIApp, *, debug: bool = False) -> None:
        self.app = app
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except HTTPError as exc:
            if started:
                logger.warning("HTTPError %s raised after the response started", exc.status)
                return
            await send_error(scope, send, exc)
        except Exception as exc:
            logger.exception(
                "Unhandled error in %s %s (request id %s)",
                scope.get("method"),
                scope.get("path"),
                scope.get("tidal.request_id"),
            )
            if started:
                return
            await self.send_500(scope, send, exc)

    async def send_500(self, scope: Scope, send: Send, exc: Exception) -> None:
        if not self.debug:
            await send_error(scope, send, HTTPError(500, "The server hit an unexpected error."))
            return
        trace = "".join(traceback.format_exception(exc))
        detail = f"{type(exc).__name__}: {exc}"
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


__all__ = ["ServerErrorMiddleware"]
