"""Request ids and the structured access log, in one pass over the response."""

from __future__ import annotations

import logging
import re
import secrets
import time

import msgspec

from tidal.types import ASGIApp, Message, Receive, Scope, Send

access_logger = logging.getLogger("tidal.access")
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_encode = msgspec.json.Encoder().encode


class RequestLogMiddleware:
    """Give each request an id (the client's ``X-Request-ID`` when it is short and plain,
    else a new one), echo it in the response, and log one JSON line per request on
    ``tidal.access`` when that logger is enabled for INFO."""

    def __init__(self, app: ASGIApp, *, header: str = "x-request-id", log: bool = True) -> None:
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = self.header
        request_id = None
        for key, value in scope["headers"]:
            if key == header:
                if _SAFE_ID.fullmatch(value):
                    request_id = value
                break
        if request_id is None:
            request_id = secrets.token_hex(8).encode()
        scope["tidal.request_id"] = request_id.decode()
        logging_on = self.log and access_logger.isEnabledFor(logging.INFO)
        started = time.perf_counter() if logging_on else 0.0
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (header, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if logging_on:
                client = scope.get("client")
                access_logger.info(
                    _encode(
                        {
                            "request_id": scope["tidal.request_id"],
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status or 500,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                            "client": client[0] if client else None,
                        }
                    ).decode()
                )


__all__ = ["RequestLogMiddleware"]
