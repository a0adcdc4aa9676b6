"""The session stores behind ``HttpSession`` (one contract, every store), and choosing one
from the settings and the installed apps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import make_settings
from tests.security.support import REDIS_URL, require_redis
from tidal import Tidal
from tidal.db import Database, DatabaseConfig
from tidal.exceptions import ImproperlyConfigured
from tidal.sessions import MemorySessionStore, SessionStore, register_store
from tidal.sessions.backends.database import DatabaseSessionStore
from tidal.sessions.backends.redis import RedisSessionStore
from tidal.sessions.stores import create_store, get_session_store, store_name

from .conftest import STORES
from .support import session_database

KEY = "a" * 64


@pytest_asyncio.fixture(params=STORES)
async def store(
    request: pytest.FixtureRequest, key_prefix: str, tmp_path: Path
) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        yield MemorySessionStore()
    elif request.param == "redis":
        async for _ in require_redis(key_prefix):
            redis_store = RedisSessionStore(REDIS_URL, prefix=key_prefix)
            yield redis_store
            await redis_store.close()
    else:
        async for url in session_database(request.param, tmp_path):
            database_store = DatabaseSessionStore(Database(DatabaseConfig(url=url)))
            yield database_store
            await database_store.close()


async def test_set_get_delete(store: SessionStore) -> None:
    assert await store.get("missing") is None
    await store.set(KEY, b'{"x":1}', 60)
    assert await store.get(KEY) == b'{"x":1}'
    await store.set(KEY, b"replaced", 60)
    assert await store.get(KEY) == b"replaced"
    await store.delete(KEY)
    await store.delete(KEY)  # deleting twice is fine
    assert await store.get(KEY) is None


async def test_concurrent_writes_leave_one_whole_record(store: SessionStore) -> None:
    """Two requests saving the same session at once: one wins whole, neither fails."""
    values = [bytes([65 + n]) * (1000 + n) for n in range(12)]
    await asyncio.gather(*(store.set(KEY, value, 60) for value in values))  # first insert races
    assert await store.get(KEY) in values
    await asyncio.gather(*(store.set(KEY, value, 60) for value in reversed(values)))
    assert await store.get(KEY) in values
    other = "b" * 64
    await asyncio.gather(store.set(other, b"other", 60), store.delete(KEY))
    assert (await store.get(KEY), await store.get(other)) == (None, b"other")


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


def app_with(*, apps: tuple[str, ...] = (), **settings: object) -> Tidal:
    return Tidal(apps=apps, settings=make_settings(**settings))


def test_store_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions_app = ("tidal.sessions",)
    assert store_name(app_with()) == "memory"
    assert store_name(app_with(redis_url=REDIS_URL)) == "redis"
    assert store_name(app_with(redis_url=REDIS_URL, session_store="memory")) == "memory"
    # Installing the app that owns the table asks for the database, even beside Redis.
    assert store_name(app_with(apps=sessions_app)) == "database"
    assert store_name(app_with(apps=sessions_app, redis_url=REDIS_URL)) == "database"
    assert store_name(app_with(apps=sessions_app, session_store="redis")) == "redis"
    assert isinstance(create_store(app_with()), MemorySessionStore)
    assert isinstance(create_store(app_with(apps=sessions_app)), DatabaseSessionStore)
    redis_store = create_store(app_with(redis_url=REDIS_URL, session_key_prefix="p:"))
    assert isinstance(redis_store, RedisSessionStore)
    assert redis_store.prefix == "p:"
    with pytest.raises(ImproperlyConfigured, match="TIDAL_SESSION_STORE='cookies'"):
        create_store(app_with(session_store="cookies"))
    with pytest.raises(ImproperlyConfigured, match="needs TIDAL_REDIS_URL"):
        create_store(app_with(session_store="redis"))
    with pytest.raises(ImproperlyConfigured, match=r"needs the 'tidal.sessions' app"):
        create_store(app_with(session_store="database"))
    monkeypatch.setattr(
        "tidal.sessions.stores._factories", {"memory": lambda app: MemorySessionStore()}
    )
    marker = MemorySessionStore()
    register_store("custom", lambda app: marker)
    app = app_with(session_store="custom")
    assert get_session_store(app) is marker
    assert get_session_store(app) is marker  # one per application
