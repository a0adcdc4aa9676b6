"""Existence checks, counts and first_or_404."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import tidal.db
from tidal import Tidal
from tidal.db import count, exists, first_or_404
from tidal.http.errors import NotFound

from .blog.models import Board, Card


async def test_exists_and_count(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        board = Board(name="B")
        db.add(board)
        await db.flush()
        db.add_all([Card(board_id=board.id, title=f"C{i}", position=i) for i in range(5)])
        await db.flush()

        assert await exists(db, Card)
        assert await exists(db, Card, board_id=board.id, title="C3")
        assert not await exists(db, Card, title="nope")
        assert await exists(db, Card, Card.position >= 4)
        assert not await exists(db, select(Card).where(Card.position > 10))

        assert await count(db, Card) == 5
        assert await count(db, Card, board_id=board.id) == 5
        assert await count(db, Card, Card.position < 2) == 2
        two = select(Card).where(Card.title.in_(["C1", "C2"])).order_by(Card.id)
        assert await count(db, two) == 2
        assert await count(db, Board, name="other") == 0


async def test_first_or_404(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        db.add(Board(name="Only"))
        await db.flush()
        board = await first_or_404(db, select(Board).where(Board.name == "Only"))
        assert board.name == "Only"
        with pytest.raises(NotFound, match="No such board"):
            await first_or_404(db, select(Board).where(Board.name == "x"), detail="No such board.")


async def test_get_by_primary_key_keeps_get_semantics(app: Tidal) -> None:
    from sqlalchemy.orm import selectinload  # noqa: F401 - options take the db.get path

    from tidal.db.queries import get

    async with tidal.db.session(app) as db:
        board = Board(name="Identity")
        db.add(board)
        await db.flush()
        assert await get(db, Board, board.id) is board  # from the identity map
        db.expunge_all()
        loaded = await get(db, Board, board.id)
        assert loaded is not None
        assert loaded is not board
        assert loaded.name == "Identity"
        assert await get(db, Board, (board.id,)) is loaded
        assert await get(db, Board, 999) is None
        db.expire(loaded)
        refreshed = await get(db, Board, board.id)
        assert refreshed is loaded
        assert refreshed.name == "Identity"  # reloaded, not left expired
        await db.delete(loaded)
        await db.flush()
        assert await get(db, Board, board.id) is None
