"""Database failures are answers, not 500s: 409/422 for constraint violations, 503 with
Retry-After when the database is gone or saturated, and nothing half-written survives."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

import tidal.db
from tidal import Tidal
from tidal.db import Model, Session
from tidal.testing import TestClient

from .blog.models import Author, Board, Card
from .proxy import Proxy


class AuthorIn(msgspec.Struct):
    email: str
    name: str | None = None


class CardIn(msgspec.Struct):
    board_id: int
    title: str
    position: int = 0


def add_write_routes(app: Tidal) -> None:
    @app.post("/authors", status_code=201)
    async def create_author(data: AuthorIn, db: Session) -> dict[str, int]:
        author = Author(email=data.email, name=data.name)
        db.add(author)
        await db.flush()
        return {"id": author.id}

    @app.post("/authors/lazy", status_code=201)
    async def create_author_at_commit(data: AuthorIn, db: Session) -> None:
        db.add(Author(email=data.email, name=data.name))  # the INSERT happens at commit

    @app.post("/cards", status_code=201)
    async def create_card(data: CardIn, db: Session) -> None:
        db.add(Card(board_id=data.board_id, title=data.title, position=data.position))
        await db.flush()

    @app.delete("/boards/{board_id:int}")
    async def delete_board(board_id: int, db: Session) -> None:
        await db.execute(text("DELETE FROM board WHERE id = :id"), {"id": board_id})


async def a_board(app: Tidal, name: str = "Board") -> int:
    async with tidal.db.session(app) as db:
        board = Board(name=name)
        db.add(board)
        await db.flush()
        return board.id


async def test_unique_violation_is_409_naming_the_field(app: Tidal) -> None:
    add_write_routes(app)
    async with TestClient(app) as client:
        first = await client.post("/authors", json={"email": "ada@example.com", "name": "Ada"})
        assert first.status_code == 201
        for path in ("/authors", "/authors/lazy"):  # at flush in the handler, and at commit
            again = await client.post(path, json={"email": "ada@example.com", "name": "Bis"})
            assert again.status_code == 409, again.text
            assert again.headers["content-type"] == "application/problem+json"
            body = again.json()
            assert body["detail"] == "An author with this email already exists."
            assert [(e["path"], e["in"]) for e in body["errors"]] == [("$.email", "body")]
            assert "ada@example.com" not in again.text  # values are not echoed back


async def test_composite_unique_violation_names_every_field(app: Tidal) -> None:
    add_write_routes(app)
    board_id = await a_board(app)
    async with TestClient(app) as client:
        card = {"board_id": board_id, "title": "Same"}
        assert (await client.post("/cards", json=card)).status_code == 201
        again = await client.post("/cards", json=card)
    assert again.status_code == 409
    assert [e["path"] for e in again.json()["errors"]] == ["$.board_id", "$.title"]
    assert again.json()["detail"] == "A card with this board_id and title already exists."


async def test_foreign_key_violations(app: Tidal) -> None:
    add_write_routes(app)
    board_id = await a_board(app)
    async with TestClient(app) as client:
        dangling = await client.post("/cards", json={"board_id": 999, "title": "Lost"})
        assert dangling.status_code == 422, dangling.text
        [error] = dangling.json()["errors"]
        assert error["path"] == "$.board_id"
        assert "does not exist" in error["message"]

        added = await client.post("/cards", json={"board_id": board_id, "title": "A"})
        assert added.status_code == 201
        referenced = await client.delete(f"/boards/{board_id}")
        assert referenced.status_code == 409, referenced.text
        assert "still referenced" in referenced.json()["detail"]
    async with tidal.db.session(app) as db:
        assert await db.get(Board, board_id) is not None


async def test_not_null_and_check_violations_are_422(app: Tidal) -> None:
    add_write_routes(app)
    board_id = await a_board(app)
    async with TestClient(app) as client:
        nameless = await client.post("/authors", json={"email": "x@example.com"})
        assert nameless.status_code == 422, nameless.text
        assert [e["path"] for e in nameless.json()["errors"]] == ["$.name"]
        negative = await client.post(
            "/cards", json={"board_id": board_id, "title": "T", "position": -1}
        )
        assert negative.status_code == 422, negative.text
        [error] = negative.json()["errors"]
        assert error["path"] == "$.position"
        assert "ck_card_position_not_negative" in error["message"]


# -- the database going away ---------------------------------------------------------------


class Outage:
    """Makes the test's database unavailable and available again.

    PostgreSQL: the app connects through a TCP proxy; stopping it refuses new connections
    and cuts the open ones, as a crashed or restarting server would (the real server, which
    other tests use, is never stopped). SQLite: another process-level connection takes an
    EXCLUSIVE lock, so writers wait out the busy timeout and fail, as when a long migration
    or another process holds the file; reads still work under WAL.
    """

    def __init__(self, backend: str, url: str, path: Any) -> None:
        self.backend = backend
        self.url = url
        self.path = path
        self.proxy: Proxy | None = None
        self.blocker: sqlite3.Connection | None = None

    async def app_url(self) -> str:
        if self.backend == "sqlite":
            return self.url
        parsed = make_url(self.url)
        self.proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        await self.proxy.start()
        return parsed.set(host="127.0.0.1", port=self.proxy.port).render_as_string(
            hide_password=False
        )

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()
        else:
            database = make_url(self.url).database
            assert database is not None
            self.blocker = sqlite3.connect(database, isolation_level=None)
            self.blocker.execute("BEGIN EXCLUSIVE")

    async def start(self) -> None:
        if self.proxy is not None:
            await self.proxy.start()
        elif self.blocker is not None:
            self.blocker.execute("ROLLBACK")
            self.blocker.close()
            self.blocker = None


@pytest_asyncio.fixture
async def outage(backend: str, database_url: str, tmp_path: Any) -> AsyncIterator[Outage]:
    outage = Outage(backend, database_url, tmp_path)
    yield outage
    await outage.start()
    if outage.proxy is not None:
        await outage.proxy.stop()


async def count(app: Tidal, model: type[Model]) -> int:
    async with tidal.db.session(app) as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_database_stopped_mid_test_is_503_then_recovers(
    app: Tidal, make_db_app: Callable[..., Tidal], outage: Outage, backend: str
) -> None:
    served = make_db_app(
        database_url=await outage.app_url(),
        database_connect_timeout=0.3,
        database_retry_after=7,
    )
    add_write_routes(served)
    flushed = asyncio.Event()
    carry_on = asyncio.Event()

    @served.post("/two-steps")
    async def two_steps(db: Session) -> None:
        db.add(Author(email="first@example.com", name="First"))
        await db.flush()  # the first INSERT reaches the database...
        flushed.set()
        await carry_on.wait()  # ...then the database goes away...
        db.add(Author(email="second@example.com", name="Second"))
        await db.flush()  # ...before the second one

    @served.get("/authors")
    async def list_authors(db: Session) -> list[str]:
        return list((await db.scalars(select(Author.email).order_by(Author.id))).all())

    async with TestClient(served) as client:
        ok = await client.post("/authors", json={"email": "before@example.com", "name": "B"})
        assert ok.status_code == 201

        request = asyncio.ensure_future(client.post("/two-steps"))
        await asyncio.wait_for(flushed.wait(), 5)
        if backend == "postgres":
            await outage.stop()  # mid-request: the connection holding the open transaction dies
        carry_on.set()
        if backend == "sqlite":
            await asyncio.wait_for(request, 5)  # SQLite: the request finishes first...
            await outage.stop()  # ...the outage starts between requests
        else:
            half_written = await asyncio.wait_for(request, 10)
            assert half_written.status_code == 503, half_written.text
            assert half_written.headers["retry-after"] == "7"

        down = await client.post("/authors", json={"email": "during@example.com", "name": "D"})
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"] == "7"
        assert down.headers["content-type"] == "application/problem+json"
        assert "try again in 7 seconds" in down.json()["detail"]
        if backend == "postgres":
            assert (await client.get("/authors")).status_code == 503

        await outage.start()
        after = await client.post("/authors", json={"email": "after@example.com", "name": "A"})
        assert after.status_code == 201, after.text
        listed = (await client.get("/authors")).json()

    expected = ["before@example.com", "after@example.com"]
    if backend == "sqlite":
        expected[1:1] = ["first@example.com", "second@example.com"]
    assert listed == expected  # nothing from the requests that failed


async def test_exhausted_pool_waits_for_the_timeout_then_503(
    make_db_app: Callable[..., Tidal], app: Tidal
) -> None:
    served = make_db_app(
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout=0.4,
        database_retry_after=2,
    )
    holding = asyncio.Event()
    release = asyncio.Event()

    @served.get("/hold")
    async def hold(db: Session) -> str:
        await db.execute(text("SELECT 1"))  # takes the only connection...
        holding.set()
        await release.wait()  # ...and keeps it
        return "held"

    @served.get("/quick")
    async def quick(db: Session) -> int:
        return int(await db.scalar(text("SELECT 41 + 1")) or 0)

    async with TestClient(served) as client:
        held = asyncio.ensure_future(client.get("/hold"))
        await asyncio.wait_for(holding.wait(), 5)
        started = time.perf_counter()
        starved = await client.get("/quick")
        waited = time.perf_counter() - started
        assert starved.status_code == 503, starved.text
        assert starved.headers["retry-after"] == "2"
        assert "connections are busy" in starved.json()["detail"]
        assert 0.35 <= waited < 3
        release.set()
        assert (await held).text == "held"
        assert (await client.get("/quick")).json() == 42


async def test_a_bug_in_sql_stays_a_500(app: Tidal) -> None:
    @app.get("/bad")
    async def bad(db: Session) -> None:
        await db.execute(text("SELECT * FROM no_such_table"))

    async with TestClient(app) as client:
        assert (await client.get("/bad")).status_code == 500
