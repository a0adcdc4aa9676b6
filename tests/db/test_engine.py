"""The engine, start-up and the cost of the database for apps that do not use it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import literal_column, select, table, text
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import Empty

import tidal.db
from tidal import Tidal
from tidal.checks import run_checks
from tidal.db import Session
from tidal.db.engine import _server_settings
from tidal.db.lifecycle import normalize_url
from tidal.db.pool import FairPool, FairQueue
from tidal.testing import LifespanError, TestClient

from ..conftest import make_settings


async def test_sqlite_is_tuned_for_a_web_server(tmp_path: Path) -> None:
    app = Tidal(settings=make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite3"))
    database = tidal.db.install(app)
    assert database.url.startswith("sqlite+aiosqlite:///")
    try:
        async with tidal.db.session(app) as db:
            assert await db.scalar(text("PRAGMA foreign_keys")) == 1
            assert await db.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await db.scalar(text("PRAGMA busy_timeout")) == 5000
            assert await db.scalar(text("PRAGMA synchronous")) == 1  # NORMAL
    finally:
        await database.dispose()


async def test_sqlite_requests_that_read_then_write_queue_for_the_lock(tmp_path: Path) -> None:
    """In WAL mode a deferred transaction that has read cannot start writing once another
    connection has committed (SQLITE_BUSY_SNAPSHOT, at once: no busy wait). Tidal begins
    SQLite transactions at the first write instead (``BEGIN IMMEDIATE``), so both commit."""
    app = Tidal(settings=make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite3"))
    database = tidal.db.install(app)
    try:
        async with tidal.db.session(app) as db:
            await db.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
            await db.execute(text("INSERT INTO counter VALUES (1, 0), (2, 0)"))
        read_done, other_committed = asyncio.Event(), asyncio.Event()

        async def read_then_write() -> None:
            async with tidal.db.session(app) as db:
                await db.execute(select(literal_column("n")).select_from(table("counter")))
                read_done.set()
                await other_committed.wait()
                await db.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))

        async def write_meanwhile() -> None:
            await read_done.wait()
            async with tidal.db.session(app) as db:
                await db.execute(text("UPDATE counter SET n = n + 1 WHERE id = 2"))
            other_committed.set()

        await asyncio.gather(read_then_write(), write_meanwhile())
        async with tidal.db.session(app) as db:
            rows = (await db.execute(text("SELECT id, n FROM counter ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, 1), (2, 1)]
    finally:
        await database.dispose()


async def test_postgres_url_options_become_server_settings(app: Tidal, backend: str) -> None:
    async with tidal.db.session(app) as db:
        if backend == "postgres":
            schema = await db.scalar(text("SELECT current_schema()"))
            assert schema is not None
            assert schema.startswith("t_")
        else:
            assert await db.scalar(text("SELECT 1")) == 1


def test_libpq_options_are_parsed() -> None:
    from sqlalchemy.engine import make_url

    url, settings = _server_settings(
        make_url(
            "postgresql+asyncpg://u@h/db"
            "?options=-csearch_path%3Da%20-c%20statement_timeout%3D5s&ssl=disable"
        )
    )
    assert settings == {"search_path": "a", "statement_timeout": "5s"}
    assert dict(url.query) == {"ssl": "disable"}


def test_urls_get_async_drivers() -> None:
    assert normalize_url("postgres://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalize_url("postgresql://h/db") == "postgresql+asyncpg://h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalize_url("mysql+aiomysql://h/db") == "mysql+aiomysql://h/db"


@pytest.mark.parametrize(
    ("url", "check_id", "words"),
    [
        ("postgresql+psycopg2://u:secret@h/db", "db.E002", "postgresql+asyncpg://"),
        ("sqlite+pysqlite:///x.db", "db.E002", "sqlite+aiosqlite://"),
        ("not a url", "db.E001", "is not a database URL"),
    ],
)
def test_unusable_urls_fail_the_start_up_checks(url: str, check_id: str, words: str) -> None:
    app = Tidal(settings=make_settings(database_url=url))
    tidal.db.install(app)
    [message] = [m for m in run_checks(app) if m.id.startswith("db.")]
    assert message.id == check_id
    assert words in f"{message.msg} {message.hint}"
    assert "secret" not in str(message)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_unreachable_database_stops_start_up_with_a_clear_message(
    backend: str, tmp_path: Path, make_db_app: Callable[..., Tidal]
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/missing-folder/db.sqlite3"
        hint = "folder exists and is writable"
    else:
        url = f"postgresql+asyncpg://postgres:hunter2@127.0.0.1:{unused_port()}/test"
        hint = "Start the database server"
    # A generous timeout: on a loaded machine a probe abandoned by its timeout would leave
    # aiosqlite's thread answering a closed event loop after the test.
    app = make_db_app(database_url=url, database_connect_timeout=5.0)
    threads_before = set(threading.enumerate())
    with pytest.raises(LifespanError) as failed:
        async with TestClient(app):
            pass
    message = str(failed.value)
    assert "Cannot reach the database at TIDAL_DATABASE_URL=" in message
    assert hint in message
    assert "hunter2" not in message  # the password is masked
    # aiosqlite's thread for the failed connection answers its last future after the
    # failure; let it finish while this test's event loop can still take the answer.
    for thread in set(threading.enumerate()) - threads_before:
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 10)


async def test_an_app_that_never_uses_the_database_never_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default URL is db.sqlite3 in the current folder
    app = Tidal(settings=make_settings())
    database = tidal.db.install(app)

    @app.get("/json")
    async def plain() -> dict[str, str]:
        return {"hello": "world"}

    async with TestClient(app) as client:
        assert (await client.get("/json")).json() == {"hello": "world"}
    assert not database.started
    assert not (tmp_path / "db.sqlite3").exists()


async def test_an_app_whose_routes_use_a_session_connects_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = Tidal(settings=make_settings())
    tidal.db.install(app)
    opened: list[bool] = []

    @app.get("/n")
    async def number(db: Session) -> int:
        return int(await db.scalar(text("SELECT 7")) or 0)

    async with TestClient(app) as client:
        opened.append(tidal.db.database(app).started)
        assert (await client.get("/n")).json() == 7
    assert opened == [True]
    assert (tmp_path / "db.sqlite3").exists()  # the default: SQLite in the project folder
    assert not tidal.db.database(app).started  # disposed at shutdown


def test_import_tidal_and_installing_the_database_do_not_load_sqlalchemy() -> None:
    code = (
        "import sys, tidal, tidal.db\n"
        "app = tidal.Tidal(settings={'debug': True})\n"
        "tidal.db.install(app)\n"
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'\n"
        "from tidal.db import Model\n"
        "assert 'sqlalchemy' in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr


def test_public_names() -> None:
    names = tidal.db.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert getattr(tidal.db, name) is not None
    assert set(dir(tidal.db)) >= set(names)
    with pytest.raises(AttributeError):
        tidal.db.nothing_here  # noqa: B018


async def test_a_sync_handler_asking_for_a_session_fails_at_start_up(app: Tidal) -> None:
    @app.get("/sync")
    def sync_handler(db: Session) -> str:
        return "never"

    with pytest.raises(LifespanError, match=r"sync_handler \(/sync\) asks for a database Session"):
        async with TestClient(app):
            pass


# -- the pool serves waiting requests in arrival order (tidal.db.pool) -------------------


async def test_the_pool_is_first_come_first_served(app: Tidal) -> None:
    assert isinstance(tidal.db.database(app).engine.pool, FairPool)
    queue: FairQueue[str] = FairQueue(maxsize=1)
    queue.put_nowait("connection")
    held = queue.get_nowait()
    served: list[str] = []

    async def request(name: str) -> None:
        connection = await greenlet_spawn(queue.get, True, 5.0)
        served.append(name)
        await asyncio.sleep(0)
        queue.put_nowait(connection)

    first = asyncio.ensure_future(request("first"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(request("second"))
    await asyncio.sleep(0)
    queue.put_nowait(held)  # returned while two requests wait...
    with pytest.raises(Empty):
        queue.get_nowait()  # ...so a newcomer does not take it from them
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert served == ["first", "second"]
    assert queue.get_nowait() == "connection"


async def test_a_pool_wait_times_out_or_is_cancelled_without_losing_a_connection() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    with pytest.raises(Empty):
        await greenlet_spawn(queue.get, True, 0.05)  # QueuePool makes it its TimeoutError
    waiting = asyncio.ensure_future(greenlet_spawn(queue.get, True, 5.0))
    await asyncio.sleep(0.01)
    queue.put_nowait("connection")  # handed to the waiter...
    waiting.cancel()  # ...which is cancelled before it could run: the connection goes back
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue.get_nowait() == "connection"
