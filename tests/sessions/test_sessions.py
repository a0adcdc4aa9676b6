"""Server-side sessions on every store (memory, Redis, the database on SQLite and
PostgreSQL): the cookie, lazy loading, rotation, logout, fixation, and idle and absolute
expiry."""

from __future__ import annotations

import re
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from tidal import Tidal
from tidal.db.models import utcnow
from tidal.sessions import HttpSession, SessionConfig, SessionNotLoaded
from tidal.sessions.backends.memory import MemorySessionStore
from tidal.sessions.session import storage_key
from tidal.testing import TestClient

from .support import session_routes, session_rows

AppFactory = Callable[..., Tidal]
COOKIE = "tidal_session"


def set_cookie(response: httpx.Response) -> dict[str, Any]:
    """The session cookie set by ``response`` with its attributes (lowercased names)."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    parsed = SimpleCookie()
    parsed.load(headers[0])
    morsel = parsed[COOKIE]
    flags = {part.strip().lower() for part in headers[0].split(";")}
    return {
        "value": morsel.value,
        "max-age": morsel["max-age"],
        "path": morsel["path"],
        "samesite": morsel["samesite"],
        "httponly": "httponly" in flags,
        "secure": "secure" in flags,
    }


class FakeClock:
    """Stands in for the ``time`` module of tidal.sessions.session."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def time(self) -> float:
        return self.now


async def test_cookie_holds_only_a_random_id(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        response = await client.get("/set", params={"key": "card", "value": "secret-plan"})
        cookie = set_cookie(response)
        again = await client.get("/get")
        stored = await store.inner.get(storage_key(cookie["value"])) or b""
    assert response.json() == {"card": "secret-plan"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie["value"])
    assert "secret" not in response.headers["set-cookie"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]
    assert int(cookie["max-age"]) == 2_592_000
    assert "cookie" in response.headers.get_list("vary")[-1].lower()
    assert again.json() == {"card": "secret-plan"}
    assert b"secret-plan" in stored
    assert "set-cookie" not in again.headers  # unchanged: nothing written, nothing set
    assert store.calls["set"] == 1


async def test_secure_flag(secure_app: AppFactory) -> None:
    app = secure_app()
    session_routes(app)
    async with TestClient(app, base_url="https://testserver") as client:
        assert set_cookie(await client.get("/set?key=a&value=b"))["secure"]
    app = secure_app(https=True, session_cookie_samesite="strict")
    session_routes(app)
    async with TestClient(app) as client:  # TLS ends at a proxy: still Secure
        cookie = set_cookie(await client.get("/set?key=a&value=b"))
    assert cookie["secure"]
    assert cookie["samesite"] == "Strict"


async def test_requests_that_do_not_use_the_session_cost_nothing(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        await client.get("/set?key=a&value=b")
        store.calls.clear()
        plain = await client.get("/plain")
        assert client.cookies.get(COOKIE)  # the cookie was sent along
        assert store.calls == {}
        assert "set-cookie" not in plain.headers
        assert "vary" not in plain.headers
        read = await client.get("/get")
    assert read.json() == {"a": "b"}
    assert store.calls == {"get": 1}


async def test_rotate_keeps_data_under_a_new_id(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        first = set_cookie(await client.get("/set?key=user&value=ada"))["value"]
        rotated = await client.get("/rotate")
        second = set_cookie(rotated)["value"]
        assert rotated.json() == {"id": second}
        assert second != first
        assert (await client.get("/get")).json() == {"user": "ada"}
        assert await store.inner.get(storage_key(first)) is None
        async with TestClient(app, lifespan=False, cookies={COOKIE: first}) as attacker:
            assert (await attacker.get("/get")).json() == {}  # the old id is worthless


async def test_session_is_dead_after_flush(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        stolen = set_cookie(await client.get("/set?key=user&value=ada"))["value"]
        logout = await client.get("/flush")
        expired = logout.headers["set-cookie"]
        assert f"{COOKIE}=" in expired
        assert "Max-Age=0" in expired
        assert (await client.get("/get")).json() == {}
        assert await store.inner.get(storage_key(stolen)) is None
        async with TestClient(app, lifespan=False, cookies={COOKIE: stolen}) as attacker:
            assert (await attacker.get("/get")).json() == {}


async def test_planted_session_id_is_never_adopted(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    planted = "A" * 43
    async with TestClient(app, cookies={COOKIE: planted}) as victim:
        response = await victim.get("/set?key=user&value=victim")
        issued = set_cookie(response)["value"]
        assert await store.inner.get(storage_key(planted)) is None
        assert await store.inner.get(storage_key(issued)) is not None
    assert issued != planted


@pytest.mark.parametrize("cookie", ["short", "x" * 44, "../../etc/passwd", "a b", "*" * 43])
async def test_malformed_cookie_is_not_looked_up(secure_app: AppFactory, cookie: str) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app, cookies={COOKIE: cookie}) as client:
        response = await client.get("/get")
    assert response.json() == {}
    assert store.calls["get"] == 0
    assert "Max-Age=0" in response.headers["set-cookie"]  # the useless cookie is cleared


async def test_idle_expiry(secure_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr("tidal.sessions.session.time", clock)
    app = secure_app(session_idle_timeout=600, session_absolute_timeout=3600)
    session_routes(app)
    async with TestClient(app) as client:
        await client.get("/set?key=user&value=ada")
        clock.now += 590
        assert (await client.get("/get")).json() == {"user": "ada"}  # and refreshed
        clock.now += 590
        assert (await client.get("/get")).json() == {"user": "ada"}
        clock.now += 601
        assert (await client.get("/get")).json() == {}


async def test_absolute_expiry(secure_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr("tidal.sessions.session.time", clock)
    app = secure_app(session_idle_timeout=100, session_absolute_timeout=150)
    store = session_routes(app)
    async with TestClient(app) as client:
        await client.get("/set?key=user&value=ada")
        clock.now += 90
        assert (await client.get("/get")).json() == {"user": "ada"}
        assert store.calls["set"] == 2  # read past refresh_after: idle expiry pushed back
        clock.now += 70  # 70 s idle only, but 160 s old
        assert (await client.get("/get")).json() == {}


async def test_store_expiry_matches_the_timeouts(secure_app: AppFactory, backend: str) -> None:
    app = secure_app(session_idle_timeout=600, session_absolute_timeout=3600)
    store = session_routes(app)
    async with TestClient(app) as client:
        session_id = set_cookie(await client.get("/set?key=a&value=b"))["value"]
        if backend == "redis":
            from redis.asyncio import Redis

            from tests.security.support import REDIS_URL

            redis = Redis.from_url(REDIS_URL)
            key = app.settings.session_key_prefix + storage_key(session_id)
            ttl = await redis.ttl(key)
            await redis.aclose()
            assert 590 <= ttl <= 600
        elif backend in ("sqlite", "postgres"):
            rows = await session_rows(store.inner)
            assert list(rows) == [storage_key(session_id)]
            remaining = (rows[storage_key(session_id)] - utcnow()).total_seconds()
            assert 590 <= remaining <= 600
        else:
            assert backend == "memory"
            assert isinstance(store.inner, MemorySessionStore)
            assert len(store.inner) == 1


async def test_the_store_never_holds_the_cookie_value(secure_app: AppFactory, backend: str) -> None:
    """A copy of the store (a backup, a dump) must not hand out live session cookies."""
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        session_id = set_cookie(await client.get("/set?key=a&value=b"))["value"]
        assert await store.inner.get(session_id) is None
        assert await store.inner.get(storage_key(session_id)) is not None
        if backend in ("sqlite", "postgres"):
            assert list(await session_rows(store.inner)) == [storage_key(session_id)]
        elif backend == "redis":
            from redis.asyncio import Redis

            from tests.security.support import REDIS_URL

            redis = Redis.from_url(REDIS_URL)
            keys = [
                key async for key in redis.scan_iter(match=f"{app.settings.session_key_prefix}*")
            ]
            await redis.aclose()
            assert keys == [(app.settings.session_key_prefix + storage_key(session_id)).encode()]
        else:
            assert isinstance(store.inner, MemorySessionStore)
            assert list(store.inner._data) == [storage_key(session_id)]


async def test_emptied_session_is_deleted(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        session_id = set_cookie(await client.get("/set?key=a&value=b"))["value"]
        response = await client.get("/delete?key=a")
        assert await store.inner.get(storage_key(session_id)) is None
    assert "Max-Age=0" in response.headers["set-cookie"]


async def test_failed_request_does_not_save(secure_app: AppFactory) -> None:
    app = secure_app()
    store = session_routes(app)
    async with TestClient(app) as client:
        response = await client.get("/boom")
        assert response.status_code == 500
        assert "set-cookie" not in response.headers
    assert store.calls["set"] == 0


async def test_lazy_session_must_be_loaded() -> None:
    session = HttpSession(MemorySessionStore(), SessionConfig(), {"headers": []})
    with pytest.raises(SessionNotLoaded, match=r"await session.load\(\)"):
        session["user"]
    with pytest.raises(SessionNotLoaded):
        session["user"] = "ada"
    await session.load()
    assert session.get("user") is None
    assert session.is_new
    session["when"] = object()
    with pytest.raises(TypeError, match="Session data must be JSON values"):
        await session.save()


async def test_outside_a_request_rotate_and_flush_delete_at_once() -> None:
    """Only an HTTP request's response can carry the deletions; a session of a WebSocket
    (or of no request) deletes its old record right away."""
    store = MemorySessionStore()
    session = HttpSession(store, SessionConfig(), {"type": "websocket", "headers": []})
    await session.load()
    session["user"] = "ada"
    await session.save()
    first = session.id
    assert first is not None
    await session.rotate()
    assert await store.get(storage_key(first)) is None
    await session.save()
    second = session.id
    assert second is not None
    await session.flush()
    assert await store.get(storage_key(second)) is None
    assert len(store) == 0
