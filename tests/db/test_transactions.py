"""Where transactions begin. On PostgreSQL, BEGIN waits for the first statement that may
write (reads before it run on their own, as under Django's autocommit); everything from
that statement on is one transaction. SQLite begins at the first statement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select, text

import tidal.db
from tidal import Tidal
from tidal.db import Session
from tidal.testing import TestClient

from .blog.models import Board


class Statements:
    """Each statement run, and whether the database had a transaction open for it."""

    def __init__(self, app: Tidal) -> None:
        self.engine = tidal.db.database(app).engine.sync_engine
        self.seen: list[tuple[str, bool]] = []
        event.listen(self.engine, "after_cursor_execute", self.record)

    def record(self, connection, cursor, statement, parameters, context, many) -> None:  # type: ignore[no-untyped-def]
        adapter = cursor._adapt_connection
        if hasattr(adapter, "_transaction"):  # asyncpg: a transaction object once BEGIN ran
            in_transaction = adapter._transaction is not None
        else:  # SQLite: BEGIN is sent by SQLAlchemy's begin, always at the first statement
            in_transaction = True
        verb = statement.split()[0].upper()
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK"):  # SQLite's own, sent as statements
            self.seen.append((verb, in_transaction))

    def take(self) -> list[tuple[str, bool]]:
        seen, self.seen = self.seen, []
        return seen

    def close(self) -> None:
        event.remove(self.engine, "after_cursor_execute", self.record)


@pytest.fixture
def statements(app: Tidal) -> Iterator[Statements]:
    recorder = Statements(app)
    yield recorder
    recorder.close()


async def test_reads_before_the_first_write_skip_begin_on_postgres(
    app: Tidal, statements: Statements, backend: str
) -> None:
    @app.get("/boards")
    async def boards(db: Session) -> list[str]:
        return list((await db.scalars(select(Board.name))).all())

    @app.post("/boards")
    async def create(db: Session) -> None:
        await db.scalars(select(Board.name))  # a read first...
        db.add(Board(name="New"))
        await db.flush()  # ...then the write: BEGIN is sent before the INSERT
        await db.scalars(select(Board.name))  # and reads after it are in the transaction

    async with TestClient(app) as client:
        statements.take()  # the start-up check's SELECT 1
        await client.get("/boards")
        read_only = statements.take()
        await client.post("/boards")
        writing = statements.take()
        await client.get("/boards")
        after_write = statements.take()

    lazy = backend == "postgres"
    assert read_only == [("SELECT", not lazy)]
    assert writing == [("SELECT", not lazy), ("INSERT", True), ("SELECT", True)]
    assert after_write == [("SELECT", not lazy)]  # the pooled connection is lazy again


async def test_locking_reads_and_raw_sql_begin_the_transaction(
    app: Tidal, statements: Statements
) -> None:
    async with tidal.db.session(app) as db:
        db.add(Board(name="Locked"))
    statements.take()
    async with tidal.db.session(app) as db:
        await db.execute(text("SELECT 1"))
    async with tidal.db.session(app) as db:
        await db.scalars(select(Board).with_for_update())
    if statements.engine.dialect.name == "postgresql":
        async with tidal.db.session(app) as db:
            await db.execute(select(Board.id).where(Board.id > 0).with_for_update(read=True))
    assert all(in_transaction for _, in_transaction in statements.take())


async def test_a_write_after_reads_is_still_all_or_nothing(app: Tidal) -> None:
    @app.post("/move")
    async def move(db: Session) -> None:
        names = (await db.scalars(select(Board.name))).all()
        db.add(Board(name=f"Board {len(names)}"))
        await db.flush()
        db.add(Board(name=f"Board {len(names)}"))  # the unique name again: 409
        await db.flush()

    async with TestClient(app) as client:
        assert (await client.post("/move")).status_code == 409
    async with tidal.db.session(app) as db:
        assert (await db.scalars(select(Board))).all() == []


async def test_select_for_update_holds_its_lock_until_commit(app: Tidal, backend: str) -> None:
    async with tidal.db.session(app) as db:
        board = Board(name="Counter")
        db.add(board)
        await db.flush()
        board_id = board.id
    locked = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with tidal.db.session(app) as db:
            await db.scalars(select(Board).where(Board.id == board_id).with_for_update())
            locked.set()
            await release.wait()
            order.append("first commits")

    async def second() -> None:
        await locked.wait()
        async with tidal.db.session(app) as db:
            release.set()
            await db.scalars(select(Board).where(Board.id == board_id).with_for_update())
            order.append("second locked")

    if backend == "sqlite":
        # SQLite has no row locks (FOR UPDATE is not even valid there); nothing to hold.
        async with tidal.db.session(app) as db:
            assert await db.get(Board, board_id) is not None
        return
    await asyncio.wait_for(asyncio.gather(first(), second()), 10)
    assert order == ["first commits", "second locked"]
