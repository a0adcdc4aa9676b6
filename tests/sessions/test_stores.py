"""The session stores behind ``HttpSession``, and choosing one from the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.conftest import make_settings
from tests.security.support import REDIS_URL, require_redis
from tidal import Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.sessions import MemorySessionStore, SessionStore, register_store
from tidal.sessions.backends.redis import RedisSessionStore
from tidal.sessions.stores import create_store, get_session_store, store_name


@pytest_asyncio.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        yield MemorySessionStore()
        return
    async for _ in require_redis(key_prefix):
        redis_store = RedisSessionStore(REDIS_URL, prefix=key_prefix)
        yield redis_store
        await redis_store.close()


async def test_set_get_delete(store: SessionStore) -> None:
    assert await store.get("missing") is None
    await store.set("a" * 43, b'{"x":1}', 60)
    assert await store.get("a" * 43) == b'{"x":1}'
    await store.set("a" * 43, b"replaced", 60)
    assert await store.get("a" * 43) == b"replaced"
    await store.delete("a" * 43)
    await store.delete("a" * 43)  # deleting twice is fine
    assert await store.get("a" * 43) is None


async def test_memory_store_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("tidal.sessions.backends.memory.time.monotonic", lambda: now[0])
    store = MemorySessionStore()
    await store.set("old", b"1", 10)
    await store.set("new", b"2", 100)
    now[0] += 11
    assert await store.get("old") is None
    assert await store.clear_expired() == 0  # "old" already dropped on read
    now[0] += 100
    assert await store.clear_expired() == 1
    assert len(store) == 0


@pytest.mark.redis
async def test_redis_store_expires_by_itself(key_prefix: str) -> None:
    async for _ in require_redis(key_prefix):
        store = RedisSessionStore(REDIS_URL, prefix=key_prefix)
        await store.set("k", b"v", 1)
        assert 0 < await store.client.pttl(key_prefix + "k") <= 1000
        await store.close()


def test_store_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert store_name(make_settings()) == "memory"
    assert store_name(make_settings(redis_url=REDIS_URL)) == "redis"
    assert store_name(make_settings(redis_url=REDIS_URL, session_store="memory")) == "memory"
    assert isinstance(create_store(make_settings()), MemorySessionStore)
    redis_store = create_store(make_settings(redis_url=REDIS_URL, session_key_prefix="p:"))
    assert isinstance(redis_store, RedisSessionStore)
    assert redis_store.prefix == "p:"
    with pytest.raises(ImproperlyConfigured, match="TIDAL_SESSION_STORE='cookies'"):
        create_store(make_settings(session_store="cookies"))
    with pytest.raises(ImproperlyConfigured, match="needs TIDAL_REDIS_URL"):
        create_store(make_settings(session_store="redis"))
    monkeypatch.setattr(
        "tidal.sessions.stores._factories", {"memory": lambda s: MemorySessionStore()}
    )
    marker = MemorySessionStore()
    register_store("database", lambda settings: marker)
    app = Tidal(settings=make_settings(session_store="database"))
    assert get_session_store(app) is marker
    assert get_session_store(app) is marker  # one per application
