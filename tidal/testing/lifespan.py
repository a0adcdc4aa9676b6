"""Driving any ASGI application's lifespan protocol from a test."""

from __future__ import annotations

import asyncio
from types import TracebackType

from tidal.types import ASGIApp, Message


class LifespanError(RuntimeError):
    """The application reported that start-up or shutdown failed."""


class Lifespan:
    """``async with Lifespan(app):`` runs start-up on entry and shutdown on exit."""

    def __init__(self, app: ASGIApp, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.supported = True

    async def _receive(self) -> Message:
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        await self._outbox.put(message)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:  # an app without lifespan support raises here
            await self._outbox.put({"type": "lifespan.unsupported", "message": repr(exc)})

    async def _exchange(self, kind: str) -> None:
        await self._inbox.put({"type": f"lifespan.{kind}"})
        message = await asyncio.wait_for(self._outbox.get(), self.timeout)
        if message["type"] == "lifespan.unsupported":
            self.supported = False
        elif message["type"] == f"lifespan.{kind}.failed":
            raise LifespanError(message.get("message", f"{kind} failed"))

    async def __aenter__(self) -> Lifespan:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._exchange("startup")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.supported:
                await self._exchange("shutdown")
        finally:
            if self._task is not None:
                await asyncio.wait_for(self._task, self.timeout)


__all__ = ["Lifespan", "LifespanError"]
