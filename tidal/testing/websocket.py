"""An in-process WebSocket client for tests, speaking ASGI directly to the application."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import msgspec

from tidal.types import ASGIApp, Message


class WebSocketRejected(Exception):
    """The handshake was refused (the server would answer 403)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket refused with code {code}: {reason}")
        self.code = code
        self.reason = reason


class WebSocketClosed(Exception):
    """The server closed the connection; ``code`` is the close code."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}: {reason}")
        self.code = code
        self.reason = reason


class WebSocketSession:
    """``async with client.websocket_connect("/ws") as ws:`` then send/receive.

    Receives time out after ``timeout`` seconds, so a test that expects a message it will
    never get fails instead of hanging.
    """

    def __init__(
        self,
        app: ASGIApp,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        host = parts.netloc or "testserver"
        raw_headers = [(b"host", host.encode())]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "wss" if parts.scheme in ("https", "wss") else "ws",
            "server": (host.partition(":")[0], 80),
            "client": ("testclient", 50000),
            "root_path": "",
            "path": parts.path or "/",
            "raw_path": (parts.path or "/").encode(),
            "query_string": parts.query.encode(),
            "headers": raw_headers,
            "subprotocols": subprotocols or [],
            "state": {},
        }
        self.app = app
        self.timeout = timeout
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.accepted_subprotocol: str | None = None
        self.close_code: int | None = None

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._from_app.put)
        finally:
            await self._from_app.put({"type": "tidal.test.app_done"})

    async def __aenter__(self) -> WebSocketSession:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._next()
        if message["type"] == "websocket.accept":
            self.accepted_subprotocol = message.get("subprotocol")
            return self
        await self._finish()
        if message["type"] == "websocket.close":
            raise WebSocketRejected(message.get("code", 1000), message.get("reason") or "")
        raise WebSocketRejected(1006, f"unexpected {message['type']}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.close_code is None:
            await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        await self._finish()

    async def _finish(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(task, self.timeout)
            except TimeoutError:
                task.cancel()

    async def _next(self) -> Message:
        try:
            return await asyncio.wait_for(self._from_app.get(), self.timeout)
        except TimeoutError:
            raise TimeoutError(f"No WebSocket message within {self.timeout}s") from None

    async def receive(self) -> Message:
        """The next raw ASGI message; raises ``WebSocketClosed`` on close."""
        message = await self._next()
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            raise WebSocketClosed(self.close_code, message.get("reason") or "")
        if message["type"] == "tidal.test.app_done":
            self.close_code = 1006
            raise WebSocketClosed(1006, "the handler returned without closing")
        return message

    async def receive_text(self) -> str:
        message = await self.receive()
        text: str = message["text"]
        return text

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        data: bytes = message["bytes"]
        return data

    async def receive_json(self) -> Any:
        message = await self.receive()
        return msgspec.json.decode(message.get("text") or message.get("bytes") or b"")

    async def send_text(self, text: str) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def send_json(self, value: Any) -> None:
        await self.send_text(msgspec.json.encode(value).decode())

    async def close(self, code: int = 1000) -> None:
        self.close_code = code
        await self._to_app.put({"type": "websocket.disconnect", "code": code})


__all__ = ["WebSocketClosed", "WebSocketRejected", "WebSocketSession"]
