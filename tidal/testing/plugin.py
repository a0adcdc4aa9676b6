"""The pytest plugin (entry point ``tidal``): ``app``, ``client`` and ``ws`` fixtures.

The application comes from the ``tidal_app`` ini option or ``TIDAL_APP`` ("module:attr");
override the ``app`` fixture in a conftest.py to build one per test instead.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

try:
    import pytest_asyncio
except ImportError as exc:  # pragma: no cover - exercised only without the testing extra
    raise ImportError(
        "Tidal's pytest plugin needs pytest-asyncio: pip install 'tidal[testing]'"
    ) from exc

from tidal.testing.client import TestClient
from tidal.testing.websocket import WebSocketSession


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("tidal_app", "The application under test, as module:attribute.", default="")


@pytest.fixture
def app(request: pytest.FixtureRequest) -> Any:
    """The project's application, imported once per test from ``tidal_app``/``TIDAL_APP``."""
    from tidal.cli.discovery import import_app

    target = str(request.config.getini("tidal_app")) or os.environ.get("TIDAL_APP", "")
    return import_app(target or None)


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[TestClient]:
    """A started application and an HTTP client for it."""
    async with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def ws(client: TestClient) -> Callable[..., WebSocketSession]:
    """``async with ws("/path") as socket:`` opens a WebSocket to the started app."""
    return client.websocket_connect
