"""One session per request: committed when the handler returns, rolled back on any error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import ORMExecuteState, defer

import tidal.db
from tidal import HTTPError, Tidal
from tidal.db import Change, Session, get_or_404
from tidal.http.errors import NotFound
from tidal.testing import TestClient

from .blog.models import Author, Board, Card, Status


async def count_boards(app: Tidal) -> int:
    async with tidal.db.session(app) as db:
        return int(await db.scalar(select(func.count()).select_from(Board)) or 0)


async def test_handler_session_commits_when_the_handler_returns(app: Tidal) -> None:
    @app.post("/boards", status_code=201)
    async def create(db: Session) -> dict[str, int]:
        board = Board(name="Roadmap")
        db.add(board)
        await db.flush()
        return {"id": board.id}

    async with TestClient(app) as client:
        response = await client.post("/boards")
        assert response.status_code == 201, response.text
        board_id = response.json()["id"]
    async with tidal.db.session(app) as db:
        board = await db.get(Board, board_id)
        assert board is not None
        assert board.name == "Roadmap"


async def test_an_exception_rolls_everything_back(app: Tidal) -> None:
    @app.post("/crash")
    async def crash(db: Session) -> None:
        board = Board(name="Half-written")
        db.add(board)
        await db.flush()  # the INSERT has reached the database...
        db.add(Card(board_id=board.id, title="orphan"))
        await db.flush()
        raise RuntimeError("...and then the handler fails")

    @app.post("/refuse")
    async def refuse(db: Session) -> None:
        db.add(Board(name="Refused"))
        await db.flush()
        raise HTTPError(400, "No, thanks.")

    async with TestClient(app) as client:
        crashed = await client.post("/crash")
        assert crashed.status_code == 500
        refused = await client.post("/refuse")
        assert refused.status_code == 400
        assert refused.json()["detail"] == "No, thanks."
    assert await count_boards(app) == 0
    async with tidal.db.session(app) as db:
        assert await db.scalar(select(func.count()).select_from(Card)) == 0


async def test_handlers_that_do_not_touch_the_session_open_no_transaction(app: Tidal) -> None:
    seen: list[bool] = []

    @app.get("/idle")
    async def idle(db: Session) -> str:
        seen.append(db.in_transaction())
        return "ok"

    async with TestClient(app) as client:
        assert (await client.get("/idle")).text == "ok"
    assert seen == [False]


async def test_get_or_404(app: Tidal) -> None:
    @app.get("/authors/{author_id:int}")
    async def show(author_id: int, db: Session) -> dict[str, str]:
        author = await get_or_404(db, Author, author_id)
        return {"name": author.name}

    async with tidal.db.session(app) as db:
        author = Author(email="ada@example.com", name="Ada")
        db.add(author)
        await db.flush()
        author_id = author.id

    async with TestClient(app) as client:
        found = await client.get(f"/authors/{author_id}")
        assert found.json() == {"name": "Ada"}
        missing = await client.get("/authors/999")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["detail"] == "No author with id 999."


async def test_get_or_404_custom_detail(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        with pytest.raises(NotFound) as missing:
            await get_or_404(db, Board, 7, detail="That board is gone.")
    assert missing.value.detail == "That board is gone."


async def test_session_outside_requests_commits_or_rolls_back(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        db.add(Board(name="Kept"))
    try:
        async with tidal.db.session(app) as db:
            db.add(Board(name="Dropped"))
            await db.flush()
            raise KeyError("boom")
    except KeyError:
        pass
    async with tidal.db.session(app) as db:
        names = (await db.scalars(select(Board.name))).all()
    assert names == ["Kept"]


async def test_session_without_app_uses_the_started_application(app: Tidal) -> None:
    async with app.running():
        async with tidal.db.session() as db:
            db.add(Board(name="From a task"))
        assert tidal.db.database() is tidal.db.database(app)
    assert await count_boards(app) == 1


async def test_install_is_idempotent(app: Tidal) -> None:
    assert tidal.db.install(app) is tidal.db.install(app) is tidal.db.database(app)


# -- direct reads: ``db.get`` straight through asyncpg on PostgreSQL ----------------------


async def make_card(app: Tidal) -> tuple[int, int]:
    async with tidal.db.session(app) as db:
        author = Author(email="ada@example.com", name="Ada")
        board = Board(name="Roadmap")
        db.add_all([author, board])
        await db.flush()
        card = Card(board_id=board.id, title="Ship", status=Status.doing)
        db.add(card)
        await db.flush()
        return board.id, card.id


async def test_get_reads_the_same_object_with_or_without_the_direct_path(
    app: Tidal, backend: str
) -> None:
    board_id, card_id = await make_card(app)
    async with tidal.db.session(app) as db:
        card = await db.get(Card, card_id)
        # PostgreSQL reads it directly: no SQLAlchemy transaction was begun for it.
        assert db.in_transaction() is (backend == "sqlite")
        assert card is not None
        assert await db.get(Card, card_id) is card  # the identity map answers
        assert await db.get(Card, 999) is None
        direct = (card.title, card.status, card.note, card.board_id, card.created_at)
        expected_state = (inspect(card).persistent, inspect(card).expired_attributes)
    async with tidal.db.session(app) as db:
        ordinary = (await db.scalars(select(Card).where(Card.id == card_id))).one()
        assert direct == (
            ordinary.title,
            ordinary.status,
            ordinary.note,
            ordinary.board_id,
            ordinary.created_at,
        )
        assert direct[1] is Status.doing  # an Enum, converted by its type
        assert direct[4].tzinfo is not None  # UTCDateTime's result processor ran
        assert expected_state == (True, set())
        assert board_id == ordinary.board_id


async def test_objects_read_directly_are_persistent_and_their_changes_commit(
    app: Tidal, backend: str
) -> None:
    changes: list[Change] = []
    tidal.db.database(app).on_commit(lambda delivered: changes.extend(delivered))
    _, card_id = await make_card(app)
    changes.clear()

    @app.post("/cards/{card_id:int}/done")
    async def done(card_id: int, db: Session) -> str:
        card = await db.get(Card, card_id)
        assert card is not None
        card.status = Status.done  # no transaction yet: committed all the same
        return "ok"

    async with TestClient(app) as client:
        assert (await client.post(f"/cards/{card_id}/done")).text == "ok"
    async with tidal.db.session(app) as db:
        assert (await db.get(Card, card_id)).status is Status.done  # type: ignore[union-attr]
    assert [(c.action, c.pk, c.changed) for c in changes] == [
        ("update", (card_id,), frozenset({"status", "updated_at"}))
    ]


async def test_a_request_reading_then_writing_holds_one_connection(
    make_db_app: Callable[..., Tidal], app: Tidal
) -> None:
    served = make_db_app(database_pool_size=1, database_max_overflow=0, database_pool_timeout=2)
    board_id, card_id = await make_card(app)

    @served.post("/move")
    async def move(db: Session) -> int:
        card = await db.get(Card, card_id)  # on PostgreSQL, the direct reads' connection
        board = await db.get(Board, board_id)
        assert card is not None
        assert board is not None
        db.add(Board(name="Next"))  # the transaction takes over that same connection
        card.position = 3
        await db.flush()
        return card.position

    async with TestClient(served) as client:
        for _ in range(3):
            response = await client.post("/move")
            assert response.status_code in (200, 409), response.text
    pool = tidal.db.database(served).engine.pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    async with tidal.db.session(app) as db:
        assert (await db.get(Card, card_id)).position == 3  # type: ignore[union-attr]


async def test_read_only_requests_return_their_connection(app: Tidal) -> None:
    _, card_id = await make_card(app)

    @app.get("/cards/{card_id:int}")
    async def show(card_id: int, db: Session) -> str:
        card = await db.get(Card, card_id)
        return card.title if card is not None else "-"

    @app.get("/fail/{card_id:int}")
    async def fail(card_id: int, db: Session) -> str:
        await db.get(Card, card_id)
        raise RuntimeError("after a read")

    async with TestClient(app) as client:
        for _ in range(3):
            assert (await client.get(f"/cards/{card_id}")).text == "Ship"
            assert (await client.get(f"/fail/{card_id}")).status_code == 500
    assert tidal.db.database(app).engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_cancelled_read_does_not_leak_its_connection(app: Tidal, backend: str) -> None:
    _, card_id = await make_card(app)
    database = tidal.db.database(app)
    # PostgreSQL's direct read gives its connection back; on SQLite (the ORM's path) a
    # statement cancelled mid-execution invalidates the transaction, so the commit at the
    # end of the block refuses, and the connection must still go back to the pool.
    refused = PendingRollbackError if backend == "sqlite" else ()
    for _ in range(5):
        with contextlib.suppress(refused):
            async with tidal.db.session(app) as db:
                reading = asyncio.ensure_future(db.get(Card, card_id))
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with tidal.db.session(app) as db:
        assert (await db.get(Card, card_id)) is not None


async def test_a_failing_direct_read_is_retried_the_ordinary_way(app: Tidal, backend: str) -> None:
    async with tidal.db.session(app) as db:
        if backend == "sqlite":  # SQLite compares the text with integers: no such row
            assert await db.get(Card, "not a number") is None
        else:  # asyncpg refuses the value; the ORM's retry raises SQLAlchemy's error
            with pytest.raises(DBAPIError):
                await db.get(Card, "not a number")
    assert tidal.db.database(app).engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_listeners_and_options_take_the_ordinary_path(app: Tidal) -> None:
    _, card_id = await make_card(app)
    seen: list[str] = []

    def watch(state: ORMExecuteState) -> None:
        seen.append(type(state.statement).__name__)

    async with tidal.db.session(app) as db:
        event.listen(db.sync_session, "do_orm_execute", watch)
        assert await db.get(Card, card_id) is not None  # read by the ORM: the hook sees it
        event.remove(db.sync_session, "do_orm_execute", watch)
    assert seen == ["Select"]
    async with tidal.db.session(app) as db:
        card = await db.get(Card, card_id, options=[defer(Card.note)])
        assert card is not None
        assert "note" not in card.__dict__
        assert db.in_transaction()
    async with tidal.db.session(app) as db:
        card = await db.get(Card, card_id)
        assert card is not None
        db.expire(card)
        assert await db.get(Card, card_id) is card  # refreshed by SQLAlchemy
        assert card.title == "Ship"


async def test_a_handler_mixing_statements_and_gets(app: Tidal) -> None:
    board_id, card_id = await make_card(app)

    @app.get("/boards/{board_id:int}")
    async def board(board_id: int, db: Session) -> dict[str, object]:
        found = await db.get(Board, board_id)
        titles = list(await db.scalars(select(Card.title).where(Card.board_id == board_id)))
        card = await db.get(Card, card_id)  # a transaction is open now: the ORM reads it
        assert found is not None
        assert card is not None
        return {"name": found.name, "titles": titles, "card": card.title}

    async with TestClient(app) as client:
        response = await client.get(f"/boards/{board_id}")
    assert response.json() == {"name": "Roadmap", "titles": ["Ship"], "card": "Ship"}
    assert tidal.db.database(app).engine.pool.checkedout() == 0  # type: ignore[attr-defined]
