"""Turning handler return values into responses, with a fast path for JSON.

A dict, list or msgspec Struct becomes JSON (encoded once by msgspec), ``str`` plain text,
``bytes`` octet-stream, ``None`` an empty 204, and any Starlette ``Response`` passes through.
"""

from __future__ import annotations

import os
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

from tidal.types import Receive, Scope, Send

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


async def send_body(
    scope: Scope, send: Send, status: int, body: bytes, content_type: bytes | None
) -> None:
    """Send a complete response in two ASGI messages, without building a Response object."""
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if scope["method"] == "HEAD":
        body = b""
    await send({"type": "http.response.body", "body": body})


async def respond(
    scope: Scope, receive: Receive, send: Send, result: Any, status: int | None
) -> None:
    """Answer with ``result`` as described in the module docstring."""
    kind = type(result)
    if kind is dict or kind is list:
        await send_body(scope, send, status or 200, encode_json(result), JSON)
    elif isinstance(result, Response):
        await result(scope, receive, send)
    elif isinstance(result, str):
        await send_body(scope, send, status or 200, result.encode(), TEXT)
    elif isinstance(result, bytes):
        await send_body(scope, send, status or 200, result, OCTETS)
    elif result is None:
        await send_body(scope, send, status or 204, b"", None)
    else:
        await send_body(scope, send, status or 200, encode_json(result), JSON)


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    """Redirect the client; 303 (See Other) is right after a form POST."""
    return RedirectResponse(url, status_code=status_code)


__all__ = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
    "encode_json",
    "redirect",
    "respond",
    "send_body",
]
