"""The database session store on SQLite and PostgreSQL: its migration, the start-up check,
expiry and sweeping, independence from the request's transaction and connection pool, and
``tidal sessions clear``."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, update

import tidal.db
from tests.conftest import make_settings
from tests.db.blog.models import Author
from tidal import Request, Tidal
from tidal.cli import main
from tidal.cli.group import AppLoader
from tidal.db import Model, Session
from tidal.db.migrations.runner import Migrations
from tidal.db.models import utcnow
from tidal.exceptions import ImproperlyConfigured
from tidal.security import get_csrf_token
from tidal.sessions import HttpSession
from tidal.sessions.backends.database import TABLE, DatabaseSessionStore
from tidal.sessions.session import storage_key
from tidal.sessions.stores import get_session_store, store_name
from tidal.testing import TestClient

from .support import session_database, session_rows

DB_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
APPS = ("tests.db.blog", "tidal.sessions")


@pytest.fixture(params=DB_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest_asyncio.fixture
async def empty_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of this test with no tables at all."""
    async for url in session_database(db_backend, tmp_path, table=False):
        yield url


@pytest.fixture
def make_app(empty_url: str) -> Callable[..., Tidal]:
    def factory(apps: tuple[str, ...] = APPS, **settings: Any) -> Tidal:
        values: dict[str, Any] = {"database_url": empty_url, "database_connect_timeout": 2.0}
        return Tidal(apps=apps, settings=make_settings(**{**values, **settings}))

    return factory


async def create_tables(app: Tidal) -> None:
    async with tidal.db.database(app).engine.begin() as connection:
        await connection.run_sync(Model.metadata.create_all)


def database_store(app: Tidal) -> DatabaseSessionStore:
    store = get_session_store(app)
    assert isinstance(store, DatabaseSessionStore)
    return store


async def test_the_migration_creates_the_table(make_app: Callable[..., Tidal]) -> None:
    app = make_app(apps=("tidal.sessions",))
    applied = await asyncio.to_thread(Migrations(app).migrate)
    assert "sessions_0001" in applied
    async with tidal.db.database(app).engine.connect() as connection:

        def indexes(sync_connection: Any) -> list[Any]:
            return [i["column_names"] for i in inspect(sync_connection).get_indexes(TABLE.name)]

        assert await connection.run_sync(indexes) == [["expires_at"]]
    await tidal.db.database(app).dispose()  # (the migrations run on their own loop)
    assert await asyncio.to_thread(Migrations(app).check) == []  # the model matches
    async with app.running():  # the start-up check finds the table
        assert store_name(app) == "database"
        assert isinstance(get_session_store(app), DatabaseSessionStore)


async def test_start_up_fails_until_the_table_exists(make_app: Callable[..., Tidal]) -> None:
    app = make_app()
    with pytest.raises(ImproperlyConfigured) as info:
        await app.startup()
    message = str(info.value)
    assert "tidal_session does not exist" in message
    assert "`tidal db migrate`" in message
    await create_tables(app)
    async with app.running():
        assert isinstance(get_session_store(app), DatabaseSessionStore)
    await tidal.db.database(app).dispose()


def session_app(app: Tidal) -> Tidal:
    from tests.security.support import protect

    protect(app)

    @app.get("/set")
    async def set_value(session: HttpSession, value: str) -> dict[str, str]:
        session["value"] = value
        return dict(session)

    @app.get("/get")
    async def get_value(session: HttpSession) -> dict[str, str]:
        return dict(session)

    @app.get("/sign-up")
    async def sign_up(request: Request, db: Session, name: str, fail: bool = False) -> Any:
        """Write a row, then log in (rotate), as a sign-up view does."""
        db.add(Author(email=f"{name}@example.com", name=name))
        await db.flush()  # the request's transaction now holds SQLite's write lock
        session = request.scope["tidal.session"]
        await session.rotate()
        session["user"] = name
        if fail:
            from tidal.http.errors import Conflict

            raise Conflict("changed my mind")  # a 4xx: the session is saved, the row not
        return {"user": name}

    @app.get("/form")
    async def form(request: Request, db: Session) -> dict[str, int]:
        """Hold a connection of the application's pool, then load the session (as a page
        that queries, then renders a form with its CSRF token, does)."""
        count = (await db.execute(select(func.count(Author.id)))).scalar_one()
        token = await get_csrf_token(request)
        return {"authors": count, "token": len(token)}

    return app


async def authors(app: Tidal) -> list[str]:
    async with tidal.db.session(app) as db:
        return list((await db.execute(select(Author.name))).scalars())


async def test_session_writes_wait_for_the_request_transaction(
    make_app: Callable[..., Tidal],
) -> None:
    """A handler that wrote rows then rotates the session (sign up, then log in) neither
    waits for its own write lock (SQLite) nor commits, or is rolled back with, its
    transaction."""
    app = session_app(make_app())
    await create_tables(app)
    async with TestClient(app) as client:
        first = (await client.get("/set", params={"value": "v"})).cookies["tidal_session"]
        response = await client.get("/sign-up", params={"name": "ada"})
        assert response.status_code == 200, response.text
        second = response.cookies["tidal_session"]
        assert second != first
        assert (await client.get("/get")).json() == {"value": "v", "user": "ada"}
        refused = await client.get("/sign-up", params={"name": "bob", "fail": True})
        assert refused.status_code == 409
        assert (await client.get("/get")).json() == {"value": "v", "user": "bob"}
        rows = await session_rows(database_store(app))
        third = refused.cookies["tidal_session"]
        assert list(rows) == [storage_key(third)]  # the two older ids are deleted
        assert await authors(app) == ["ada"]  # the refused request's row was rolled back


async def test_the_store_has_a_pool_of_its_own(make_app: Callable[..., Tidal]) -> None:
    """Requests holding every connection of the application's pool still load sessions."""
    app = session_app(make_app(database_pool_size=1, database_pool_timeout=2.0))
    await create_tables(app)
    async with TestClient(app) as client:
        await client.get("/set", params={"value": "v"})  # a session to load
        responses = await asyncio.gather(*(client.get("/form") for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert {r.json()["authors"] for r in responses} == {0}


async def test_expired_rows_are_purged_when_read_and_swept(
    make_app: Callable[..., Tidal],
) -> None:
    app = make_app()
    await create_tables(app)
    store = database_store(app)
    store.sweep_interval = 0  # no sweep until the test asks for one
    try:
        for key in ("old1", "old2", "live"):
            await store.set(key, b"{}", 3600)
        await store.set("new", b"{}", 3600)
        past = utcnow() - datetime.timedelta(seconds=1)
        async with store.engine.begin() as connection:
            await connection.execute(
                update(TABLE).where(TABLE.c.id_hash.in_(["old1", "old2"])).values(expires_at=past)
            )
        assert await store.get("old1") is None
        assert sorted(await session_rows(store)) == ["live", "new", "old2"]  # purged on read
        store.sweep_interval = 3600  # a sweep is due: the next write starts one
        await store.set("live", b"{}", 3600)
        sweeping = store._sweeping
        assert sweeping is not None
        await sweeping
        assert sorted(await session_rows(store)) == ["live", "new"]
        await store.set("new", b"{}", 3600)
        assert store._sweeping is None  # at most one sweep per interval
    finally:
        await store.close()
        await tidal.db.database(app).dispose()


async def test_tidal_sessions_clear(make_app: Callable[..., Tidal]) -> None:
    app = make_app()
    loader = AppLoader()
    loader._app = app
    command = ["sessions", "clear"]  # found among the installed app's commands
    missing = await asyncio.to_thread(CliRunner().invoke, main, command, obj=loader)
    assert missing.exit_code == 1
    assert "tidal_session does not exist" in missing.output
    await create_tables(app)
    store = DatabaseSessionStore.for_app(app)
    store.sweep_interval = 0
    await store.set("gone", b"{}", 3600)
    await store.set("kept", b"{}", 3600)
    async with store.engine.begin() as connection:
        past = utcnow() - datetime.timedelta(seconds=1)
        await connection.execute(
            update(TABLE).where(TABLE.c.id_hash == "gone").values(expires_at=past)
        )
    result = await asyncio.to_thread(CliRunner().invoke, main, command, obj=loader)
    assert result.exit_code == 0, result.output
    assert result.output == "1 expired session(s) deleted.\n"
    assert list(await session_rows(store)) == ["kept"]
    await store.close()
    await tidal.db.database(app).dispose()


async def test_deploy_checks_know_the_database_store(make_app: Callable[..., Tidal]) -> None:
    installed = make_app()
    ids = {message.id for message in installed.run_checks(deploy=True)}
    assert "security.W019" not in ids  # not in process memory
    assert "security.E012" not in ids
    bare = Tidal(settings=make_settings(session_store="database"))
    errors = [m for m in bare.run_checks() if m.id == "security.E012"]
    assert len(errors) == 1
    assert "'tidal.sessions' app" in errors[0].msg
    memory = {m.id: m for m in Tidal(settings=make_settings()).run_checks(deploy=True)}
    assert "tidal.sessions" in memory["security.W019"].hint
