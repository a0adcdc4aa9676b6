"""A store that counts calls, an app exercising sessions through GET routes, and databases
holding the session table."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from tests.db.conftest import POSTGRES_URL, create_schema, drop_schema, with_schema
from tidal import Request, Tidal
from tidal.db import Database, DatabaseConfig
from tidal.sessions import HttpSession, SessionStore, set_session_store
from tidal.sessions.stores import create_store


class CountingStore(SessionStore):
    """Wraps the store the settings select and counts every call."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    async def get(self, key: str) -> bytes | None:
        self.calls["get"] += 1
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self.calls["set"] += 1
        await self.inner.set(key, value, ttl)

    async def delete(self, key: str) -> None:
        self.calls["delete"] += 1
        await self.inner.delete(key)

    async def clear_expired(self) -> int:
        return await self.inner.clear_expired()

    async def close(self) -> None:
        await self.inner.close()


def session_routes(app: Tidal) -> CountingStore:
    store = CountingStore(create_store(app))
    set_session_store(app, store)

    @app.get("/plain")
    async def plain() -> dict[str, bool]:
        return {"plain": True}

    @app.get("/set")
    async def set_value(session: HttpSession, key: str, value: str) -> dict[str, str]:
        session[key] = value
        return dict(session)

    @app.get("/get")
    async def get_values(session: HttpSession) -> dict[str, str]:
        return {k: v for k, v in session.items() if not k.startswith("tidal.")}

    @app.get("/delete")
    async def delete_value(session: HttpSession, key: str) -> dict[str, str]:
        del session[key]
        return dict(session)

    @app.get("/rotate")
    async def rotate(session: HttpSession) -> dict[str, str | None]:
        await session.rotate()
        return {"id": session.id}

    @app.get("/flush")
    async def flush(request: Request) -> None:
        await request.scope["tidal.session"].flush()

    @app.get("/boom")
    async def boom(session: HttpSession) -> None:
        session["half"] = "written"
        raise RuntimeError("handler failed")

    return store


async def create_session_table(url: str) -> None:
    """Create ``tidal_session`` as its model declares it (the migration is tested apart)."""
    from tidal.sessions.models import SessionRecord

    database = Database(DatabaseConfig(url=url))
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(SessionRecord.__table__.create)
    finally:
        await database.dispose()


async def session_database(
    backend: str, tmp_path: Path, *, table: bool = True
) -> AsyncIterator[str]:
    """A database URL for one test: a file in ``tmp_path`` (``"sqlite"``) or a fresh schema
    (``"postgres"``, failing when PostgreSQL is down), with the session table unless
    ``table`` is false."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.sqlite3'}"
        if table:
            await create_session_table(url)
        yield url
        return
    schema = await create_schema(POSTGRES_URL)
    try:
        url = with_schema(POSTGRES_URL, schema)
        if table:
            await create_session_table(url)
        yield url
    finally:
        await drop_schema(POSTGRES_URL, schema)


async def session_rows(store: SessionStore) -> dict[str, datetime.datetime]:
    """``{id_hash: expires_at}`` of every row of a database store's table."""
    from sqlalchemy import select

    from tidal.sessions.backends.database import TABLE, DatabaseSessionStore

    assert isinstance(store, DatabaseSessionStore)
    async with store.engine.connect() as connection:
        result = await connection.execute(select(TABLE.c.id_hash, TABLE.c.expires_at))
        return {row[0]: row[1] for row in result}
