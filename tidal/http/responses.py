"""Turning handler return values into responses, with a fast path for JSON.

A dict, list or msgspec Struct becomes JSON (encoded once by msgspec), ``str`` plain text,
``bytes`` octet-stream, ``None`` an empty 204, and any Starlette ``Response`` passes through.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from tidal.types import Message, Receive, Scope, Send

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
OCTETS = b"application/octet-stream"


def _encode_extra(value: Any) -> Any:
    """Types msgspec does not know natively: str subclasses (URLs) and paths as text."""
    if isinstance(value, (str, os.PathLike)):
        return str(value)
    raise TypeError(f"Cannot encode {type(value).__name__} objects as JSON; return plain data.")


_encoder = msgspec.json.Encoder(enc_hook=_encode_extra)
encode_json = _encoder.encode

EXCHANGE = "tidal.exchange"

# Called with the response status; returns headers to add to the response (see
# tidal.middleware.hooks).
ResponseHook = Callable[[int], Awaitable[list[tuple[bytes, bytes]]]]
Headers = list[tuple[bytes, bytes]]


class Exchange:
    """The response side of one HTTP request.

    ``send`` is what the application below the outer middleware is handed: the server's
    ``send`` (``raw``), adding to the response start the ``headers`` it did not set itself
    (the security headers: a handler's own value wins), then ``tail`` (the request id) and
    the hooks' headers, and recording ``status``. ``respond`` does the same for a whole
    response whose headers are known to include none of ``headers`` (Tidal's own
    responses): nothing to merge, and one ``await`` instead of two.

    Created once per request, so it has no ``__init__`` (a Python ``__init__`` costs more
    than the rest of the object): the outer middleware sets every slot.
    """

    __slots__ = ("headers", "hooks", "names", "raw", "send", "status", "tail")

    raw: Send
    headers: Headers  # added unless the response set that header
    names: frozenset[bytes]  # the names in ``headers``
    tail: tuple[bytes, bytes]  # always added
    hooks: list[ResponseHook] | None
    status: int  # 0 until the response starts
    send: Send  # ``_send``, bound once so responders can recognize it

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            status = self.status = message["status"]
            existing = message.get("headers", ())
            extra = self.headers
            names = self.names
            for key, _ in existing:  # a plain loop: cheaper than any() on 2-5 headers
                if key in names:
                    present = {key for key, _ in existing}
                    extra = [pair for pair in extra if pair[0] not in present]
                    break
            headers = [*existing, *extra, self.tail]
            if self.hooks is not None:
                for hook in self.hooks:
                    headers.extend(await hook(status))
            message["headers"] = headers
        await self.raw(message)

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        """Send a complete response. ``headers`` is the caller's fresh list, naming none of
        ``self.headers``; it is extended here."""
        self.status = status
        headers += self.headers
        headers.append(self.tail)
        if self.hooks is not None:
            for hook in self.hooks:
                headers.extend(await hook(status))
        raw = self.raw
        await raw({"type": "http.response.start", "status": status, "headers": headers})
        await raw({"type": "http.response.body", "body": body})


def send_body(
    scope: Scope, send: Send, status: int, body: bytes, content_type: bytes | None
) -> Awaitable[None]:
    """Send a complete response in two ASGI messages, without building a Response object.

    A plain function returning the awaitable that sends, so the caller awaits one frame:
    ``Exchange.respond`` when handed the outer middleware's own ``send`` (see
    ``tidal.middleware.hooks``), else the two ASGI messages.
    """
    headers = [(b"content-length", b"%d" % len(body))]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if scope["method"] == "HEAD":
        body = b""
    exchange: Exchange | None = scope.get(EXCHANGE)
    if exchange is not None and send is exchange.send:
        return exchange.respond(status, headers, body)
    return _send_messages(send, status, headers, body)


async def _send_messages(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def encode_result(result: Any, status: int | None) -> tuple[int, bytes, bytes | None] | None:
    """``(status, body, content type)`` for a handler's return value, as the module
    docstring describes; None for a ``Response``, which sends itself."""
    kind = type(result)
    if kind is dict or kind is list:
        return status or 200, encode_json(result), JSON
    if kind is str:
        return status or 200, result.encode(), TEXT
    if isinstance(result, Response):
        return None
    if isinstance(result, str):
        return status or 200, result.encode(), TEXT
    if isinstance(result, bytes):
        return status or 200, result, OCTETS
    if result is None:
        return status or 204, b"", None
    return status or 200, encode_json(result), JSON


def respond(
    scope: Scope, receive: Receive, send: Send, result: Any, status: int | None
) -> Awaitable[None]:
    """Answer with ``result`` (an awaitable, as ``send_body`` returns)."""
    encoded = encode_result(result, status)
    if encoded is None:
        response: Response = result
        return response(scope, receive, send)
    return send_body(scope, send, *encoded)


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    """Redirect the client; 303 (See Other) is right after a form POST."""
    return RedirectResponse(url, status_code=status_code)


__all__ = [
    "EXCHANGE",
    "Exchange",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "ResponseHook",
    "StreamingResponse",
    "encode_json",
    "encode_result",
    "redirect",
    "respond",
    "send_body",
]
