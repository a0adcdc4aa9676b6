"""Fixtures for the realtime tests: every backend test runs on memory and on Redis.

Redis comes from ``TIDAL_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``); each test
gets its own key prefix and its keys are deleted afterwards. A missing Redis fails the Redis
tests (it never skips them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from tidal import Tidal
from tidal.realtime import Channels, install
from tidal.realtime.backends import MemoryBroker, MemoryPubSub, PubSub
from tidal.realtime.backends.redis import RedisPubSub

REDIS_URL = os.environ.get("TIDAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def prefix() -> str:
    return f"test:rt:{uuid.uuid4().hex[:10]}:"


@pytest_asyncio.fixture
async def redis_client(prefix: str) -> AsyncIterator[Redis]:
    """A plain client to the test Redis; fails the test if Redis is down. Deletes the
    test's keys afterwards."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.fail(f"Redis is required at {REDIS_URL} (TIDAL_TEST_REDIS_URL): {exc}")
    yield client
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "redis":
        request.getfixturevalue("redis_client")
    return kind


BackendFactory = Callable[..., PubSub]


@pytest.fixture
def make_backend(backend_kind: str, prefix: str) -> Iterator[BackendFactory]:
    """``make_backend(**options)``: a new worker's backend; all share one broker (memory)
    or one key prefix (Redis), so they see each other like workers of one site."""
    broker = MemoryBroker()

    def factory(**options: Any) -> PubSub:
        if backend_kind == "memory":
            return MemoryPubSub(broker=broker, **options)
        options.setdefault("ping_interval", 1.0)
        return RedisPubSub(REDIS_URL, prefix=prefix, **options)

    return factory


@pytest.fixture
def rt_settings(backend_kind: str, prefix: str) -> dict[str, Any]:
    """Settings selecting the backend under test. With Redis, the sessions and rate limits
    that follow ``redis_url`` get this test's prefix too: the login throttle must not count
    the logins of other tests (and the keys are deleted afterwards)."""
    if backend_kind == "redis":
        return {
            "redis_url": REDIS_URL,
            "realtime_redis_prefix": prefix,
            "session_key_prefix": prefix + "session:",
            "rate_limit_key_prefix": prefix + "ratelimit:",
        }
    return {}


@pytest.fixture
def make_rt_app(
    make_app: Callable[..., Tidal], rt_settings: dict[str, Any]
) -> Callable[..., tuple[Tidal, Channels]]:
    """``app, channels = make_rt_app(**settings)`` on the backend under test."""

    def factory(**settings: Any) -> tuple[Tidal, Channels]:
        app = make_app(**{**rt_settings, **settings})
        return app, install(app)

    return factory


class Recorder:
    """A listener that records what a backend delivers."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str | None, bytes]] = []
        self.gaps: list[str] = []
        self.arrived: Any = None

    async def on_message(self, topic: str, event_id: str | None, payload: bytes) -> None:
        self.messages.append((topic, event_id, payload))

    async def on_gap(self, topic: str) -> None:
        self.gaps.append(topic)


@pytest.fixture
def recorder() -> Callable[[], Recorder]:
    return Recorder
