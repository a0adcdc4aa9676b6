"""One session per request: committed when the handler returns, rolled back on any error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import tidal.db
from tidal import HTTPError, Tidal
from tidal.db import Session, get_or_404
from tidal.http.errors import NotFound
from tidal.testing import TestClient

from .blog.models import Author, Board, Card


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
