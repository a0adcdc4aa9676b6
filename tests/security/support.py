"""Shared by tests/security and tests/sessions: an app with the protections on, backends
parametrized over memory and Redis, and a raw ASGI caller for requests httpx cannot make."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import make_settings
from tidal import Middleware, Tidal
from tidal.middleware.sessions import SessionMiddleware
from tidal.security import build_protections, install
from tidal.security.protections import INSTALLED_KEY
from tidal.types import Message, Scope

REDIS_URL = os.environ.get("TIDAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def _stack_has_protections() -> bool:
    """Whether ``Tidal._build_stack`` already calls ``build_protections`` (once the wiring
    lands in tidal/app.py); until then the tests add it as user middleware."""
    probe = Tidal(settings=make_settings())
    probe.build()
    layer: Any = probe._stack
    while layer is not None:
        if isinstance(layer, SessionMiddleware):
            return True
        layer = getattr(layer, "app", None)
    return False


STACK_WIRED = _stack_has_protections()


class _Protections:
    """User middleware standing in for the ``_build_stack`` wiring."""

    def __init__(self, app: Tidal) -> None:
        self.tidal = app

    def __call__(self, inner: Any) -> Any:
        return build_protections(self.tidal, inner)


def protect(app: Tidal) -> Tidal:
    """Install the protections on ``app`` unless ``Tidal`` itself already does."""
    if not app.state.get(INSTALLED_KEY):
        install(app)
    if not STACK_WIRED:
        app.user_middleware.insert(0, Middleware(_Protections(app)))
    return app


def backend_settings(backend: str, prefix: str) -> dict[str, Any]:
    if backend == "memory":
        return {"session_store": "memory", "rate_limit_backend": "memory"}
    return {
        "session_store": "redis",
        "rate_limit_backend": "redis",
        "redis_url": REDIS_URL,
        "session_key_prefix": f"{prefix}session:",
        "rate_limit_key_prefix": f"{prefix}rl:",
    }


async def require_redis(prefix: str) -> AsyncIterator[None]:
    """Fail (never skip) when Redis is down; delete the test's keys afterwards."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        try:
            await client.ping()
        except Exception as exc:
            pytest.fail(
                f"Redis is not reachable at {REDIS_URL} ({exc!r}). Start it (scripts/services) "
                "or point TIDAL_TEST_REDIS_URL at one; Redis tests fail rather than skip.",
                pytrace=False,
            )
        yield
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def key_prefix() -> str:
    return f"tidaltest:{uuid.uuid4().hex}:"


@pytest_asyncio.fixture
async def backend_config(backend: str, key_prefix: str) -> AsyncIterator[dict[str, Any]]:
    """Settings selecting ``backend`` with keys unique to this test."""
    if backend == "redis":
        async for _ in require_redis(key_prefix):
            yield backend_settings(backend, key_prefix)
    else:
        yield backend_settings(backend, key_prefix)


@pytest.fixture
def secure_app(backend_config: dict[str, Any]) -> Callable[..., Tidal]:
    """``secure_app(**settings)``: a test app with every protection on, on the backend."""

    def factory(**overrides: Any) -> Tidal:
        return protect(Tidal(settings=make_settings(**{**backend_config, **overrides})))

    return factory


@pytest.fixture
def memory_app() -> Callable[..., Tidal]:
    """Like ``secure_app`` for tests with no backend to vary."""

    def factory(**overrides: Any) -> Tidal:
        values = {**backend_settings("memory", ""), **overrides}
        return protect(Tidal(settings=make_settings(**values)))

    return factory


class RawResponse:
    def __init__(self, messages: list[Message]) -> None:
        start = next(m for m in messages if m["type"] == "http.response.start")
        self.status: int = start["status"]
        self.headers = [(k.decode(), v.decode()) for k, v in start["headers"]]
        self.body = b"".join(m.get("body", b"") for m in messages if "body" in m)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


async def raw_request(
    app: Tidal,
    *,
    headers: list[tuple[bytes, bytes]],
    method: str = "GET",
    path: str = "/",
    body: bytes = b"",
    scheme: str = "http",
    server: tuple[str, int] | None = ("testserver", 80),
) -> RawResponse:
    """Send exactly these headers (no Host added), straight over ASGI."""
    app.build()
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": server,
        "state": {},
    }
    sent: list[Message] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return RawResponse(sent)
