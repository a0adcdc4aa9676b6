"""Bare ASGI peer: the ceiling a framework on the same server could reach.

Hand-written on purpose, with no routing table or response objects, so the gap
between this and a framework is the framework's own overhead. The JSON body is
still encoded per request because TechEmpower forbids caching serialization.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_encode = msgspec.json.encode

_PLAINTEXT_BODY = b"Hello, World!"
_PLAINTEXT_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_PLAINTEXT_BODY)).encode()),
    ],
}
_NOT_FOUND_BODY = b"Not Found"
_NOT_FOUND_START: Message = {
    "type": "http.response.start",
    "status": 404,
    "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_NOT_FOUND_BODY)).encode()),
    ],
}
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve ``/plaintext`` and ``/json``; everything else is a 404."""
    if scope["type"] == "http":
        path = scope["path"]
        method = scope["method"]
        if path == "/plaintext" and method == "GET":
            await send(_PLAINTEXT_START)
            await send({"type": "http.response.body", "body": _PLAINTEXT_BODY})
        elif path == "/json" and method == "GET":
            body = _encode({"message": "Hello, World!"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [_JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        else:
            await send(_NOT_FOUND_START)
            await send({"type": "http.response.body", "body": _NOT_FOUND_BODY})
    elif scope["type"] == "lifespan":
        # Answer lifespan properly so servers don't log a fallback warning.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
