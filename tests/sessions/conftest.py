"""Session tests run on every store: memory, Redis, and the database store on SQLite and on
PostgreSQL (a fresh file or schema per test, with the ``tidal_session`` table). Redis and
PostgreSQL that cannot be reached fail the tests; they never skip."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import make_settings
from tests.security.support import backend_settings, key_prefix, memory_app, protect, require_redis
from tidal import Tidal

from .support import session_database

__all__ = ["key_prefix", "memory_app"]

STORES = [
    "memory",
    pytest.param("redis", marks=pytest.mark.redis),
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest_asyncio.fixture
async def backend_config(
    backend: str, key_prefix: str, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    """Settings selecting ``backend``'s store, with keys (or a database) unique to the test."""
    if backend == "redis":
        async for _ in require_redis(key_prefix):
            yield backend_settings(backend, key_prefix)
    elif backend in ("sqlite", "postgres"):
        async for url in session_database(backend, tmp_path):
            yield {"session_store": "database", "rate_limit_backend": "memory", "database_url": url}
    else:
        yield backend_settings(backend, key_prefix)


@pytest.fixture
def secure_app(backend_config: dict[str, Any]) -> Callable[..., Tidal]:
    """``secure_app(**settings)``: an app with every protection on, sessions in ``backend``
    (the database ones through the installed ``tidal.sessions`` app)."""
    apps = ("tidal.sessions",) if "database_url" in backend_config else ()

    def factory(**overrides: Any) -> Tidal:
        settings = make_settings(**{**backend_config, **overrides})
        return protect(Tidal(apps=apps, settings=settings))

    return factory
