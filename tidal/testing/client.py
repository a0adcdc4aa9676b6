"""The test client: a real ``httpx.AsyncClient`` over the ASGI transport, which also runs
the application's lifespan and opens WebSocket sessions."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from tidal.testing.lifespan import Lifespan
from tidal.testing.websocket import WebSocketSession
from tidal.types import ASGIApp, Receive, Scope, Send


def _raising(app: ASGIApp) -> ASGIApp:
    """Ask Tidal's error middleware to re-raise after answering 500, so the test sees it."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["tidal.raise_exceptions"] = True
        await app(scope, receive, send)

    return wrapped


TEST_HOST = "testserver"


def _allow_test_host(app: ASGIApp, host: str) -> None:
    """The test client's own host is always allowed, as Django's test runner allows
    ``testserver``: a project's tests should not need it in ``TIDAL_ALLOWED_HOSTS``."""
    settings = getattr(app, "settings", None)
    hosts = getattr(settings, "allowed_hosts", None)
    unlisted = isinstance(hosts, list) and hosts and host not in hosts and "*" not in hosts
    # Only before the app builds: the host check reads the setting then.
    if unlisted and getattr(app, "built", True) is False:
        assert isinstance(hosts, list)
        hosts.append(host)


class TestClient(httpx.AsyncClient):
    """``async with TestClient(app) as client:`` starts the app, then
    ``await client.get("/")``; ``client.websocket_connect("/ws")`` for WebSockets.

    Args:
        app: the ASGI application under test.
        base_url: scheme and host the requests claim to be sent to.
        lifespan: run start-up/shutdown hooks on enter/exit.
        raise_app_exceptions: re-raise unhandled app exceptions in the test (off: see the
            500 response the user would see).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str = "http://testserver",
        lifespan: bool = True,
        raise_app_exceptions: bool = False,
        **kwargs: Any,
    ) -> None:
        if httpx.URL(base_url).host == TEST_HOST:
            _allow_test_host(app, TEST_HOST)
        target = _raising(app) if raise_app_exceptions else app
        transport = httpx.ASGITransport(target, raise_app_exceptions=raise_app_exceptions)
        super().__init__(transport=transport, base_url=base_url, **kwargs)
        self.app = app
        self._lifespan = Lifespan(app) if lifespan else None

    async def __aenter__(self) -> TestClient:
        if self._lifespan is not None:
            await self._lifespan.__aenter__()
        await super().__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            if self._lifespan is not None:
                await self._lifespan.__aexit__(exc_type, exc, tb)

    def websocket_connect(
        self,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        subprotocols: list[str] | None = None,
        timeout: float = 5.0,
    ) -> WebSocketSession:
        url = str(self.base_url.join(path)).replace("http", "ws", 1)
        return WebSocketSession(
            self.app, url, headers=headers, subprotocols=subprotocols, timeout=timeout
        )


__all__ = ["TestClient"]
