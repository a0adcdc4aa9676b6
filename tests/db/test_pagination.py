"""Offset and keyset (cursor) pagination."""

from __future__ import annotations

import base64
from typing import Annotated

import pytest
from sqlalchemy import select

import tidal.db
from tidal import Query, Tidal
from tidal.db import CursorPage, Page, Session, paginate, paginate_keyset, schema
from tidal.http.errors import ValidationFailed
from tidal.testing import TestClient

from .blog.models import Board, Card

CardBrief = schema(Card, include=["id", "title", "position"], name="CardBrief")


async def fill(app: Tidal, cards: int) -> int:
    """A board with ``cards`` cards; positions repeat (i % 7) so sort keys tie."""
    async with tidal.db.session(app) as db:
        board = Board(name="Big")
        db.add(board)
        await db.flush()
        rows = [
            {"board_id": board.id, "title": f"Card {i:02}", "position": i % 7} for i in range(cards)
        ]
        await tidal.db.bulk_insert(db, Card, rows)
        return board.id


async def test_offset_pages(app: Tidal) -> None:
    await fill(app, 45)
    statement = select(Card).order_by(Card.id)
    async with tidal.db.session(app) as db:
        first = await paginate(db, statement, per_page=20)
        assert [c.title for c in first.items][:2] == ["Card 00", "Card 01"]
        assert (first.page, first.total, first.pages, first.has_next, first.has_prev) == (
            1,
            45,
            3,
            True,
            False,
        )
        last = await paginate(db, statement, page=3, per_page=20)
        assert len(last.items) == 5
        assert not last.has_next
        assert last.has_prev
        beyond = await paginate(db, statement, page=9, per_page=20)
        assert beyond.items == []
        assert not beyond.has_next
        quick = await paginate(db, statement, page=2, per_page=20, count=False)
        assert quick.total is None
        assert quick.pages is None
        assert quick.has_next
        clamped = await paginate(db, statement, per_page=1000, max_per_page=30)
        assert clamped.per_page == 30
        assert len(clamped.items) == 30
        with pytest.raises(ValidationFailed) as refused:
            await paginate(db, statement, page=0)
        assert refused.value.errors[0].path == "page"


async def test_offset_page_endpoint(app: Tidal) -> None:
    await fill(app, 3)

    @app.get("/cards")
    async def cards(
        db: Session, page: int = 1, per_page: Annotated[int, Query("per_page")] = 2
    ) -> Page[CardBrief]:  # type: ignore[valid-type]
        result = await paginate(db, select(Card).order_by(Card.id), page=page, per_page=per_page)
        return result.to(CardBrief)

    async with TestClient(app) as client:
        body = (await client.get("/cards", params={"page": 2})).json()
        bad = await client.get("/cards", params={"page": 0})
        document = (await client.get("/openapi.json")).json()
    assert body == {
        "items": [{"id": 3, "title": "Card 02", "position": 2}],
        "page": 2,
        "per_page": 2,
        "total": 3,
        "pages": 2,
        "has_next": False,
        "has_prev": True,
    }
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["in"] == "query"
    response = document["paths"]["/cards"]["get"]["responses"]["200"]["content"]
    ref = response["application/json"]["schema"]["$ref"]
    page_schema = document["components"]["schemas"][ref.rpartition("/")[2]]
    assert page_schema["properties"]["items"]["items"] == {"$ref": "#/components/schemas/CardBrief"}


async def walk(app: Tidal, order_by: list, limit: int) -> list[str]:  # type: ignore[type-arg]
    titles: list[str] = []
    cursor = None
    async with tidal.db.session(app) as db:
        while True:
            page = await paginate_keyset(
                db, select(Card), order_by=order_by, after=cursor, limit=limit
            )
            titles += [c.title for c in page.items]
            assert len(page.items) <= limit
            if not page.has_next:
                assert page.next_cursor is None
                return titles
            cursor = page.next_cursor


async def test_keyset_pages_visit_every_row_once_in_order(app: Tidal) -> None:
    await fill(app, 30)
    async with tidal.db.session(app) as db:
        everything = (await db.scalars(select(Card).order_by(Card.position.desc(), Card.id))).all()
        expected = [c.title for c in everything]
    # Ties on position are broken by the primary key, appended automatically.
    assert await walk(app, [Card.position.desc()], limit=4) == expected
    assert await walk(app, [Card.position.desc(), Card.id.asc()], limit=7) == expected
    by_time = await walk(app, [Card.created_at, Card.id], limit=8)
    assert sorted(by_time) == sorted(expected)
    assert len(set(by_time)) == 30


async def test_keyset_is_stable_when_rows_are_added(app: Tidal) -> None:
    board_id = await fill(app, 10)
    async with tidal.db.session(app) as db:
        first = await paginate_keyset(db, select(Card), order_by=[Card.id], limit=5)
        db.add(Card(board_id=board_id, title="Late", position=0))  # lands after the cursor
    async with tidal.db.session(app) as db:
        second = await paginate_keyset(
            db, select(Card), order_by=[Card.id], after=first.next_cursor, limit=5
        )
    assert [c.title for c in first.items] == [f"Card {i:02}" for i in range(5)]
    assert [c.title for c in second.items] == [f"Card {i:02}" for i in range(5, 10)]
    assert second.has_next  # "Late" is on the next page, nothing was skipped or repeated


async def test_keyset_endpoint_and_bad_cursors(app: Tidal) -> None:
    await fill(app, 5)

    @app.get("/feed")
    async def feed(db: Session, after: str | None = None) -> CursorPage[CardBrief]:  # type: ignore[valid-type]
        page = await paginate_keyset(
            db, select(Card), order_by=[Card.position.desc()], after=after, limit=2
        )
        return page.to(CardBrief)

    async with TestClient(app) as client:
        first = (await client.get("/feed")).json()
        assert [c["position"] for c in first["items"]] == [4, 3]
        assert first["has_next"]
        second = (await client.get("/feed", params={"after": first["next_cursor"]})).json()
        assert [c["position"] for c in second["items"]] == [2, 1]
        forged = base64.urlsafe_b64encode(b'["x", "y"]').decode()
        for bad in ("%%%", "bm90IGpzb24", forged):
            refused = await client.get("/feed", params={"after": bad})
            assert refused.status_code == 422, bad
            assert refused.json()["errors"][0]["path"] == "after"


async def test_keyset_refuses_expressions_it_cannot_resume_from(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        with pytest.raises(TypeError, match="orders by model attributes"):
            await paginate_keyset(db, select(Card), order_by=[Card.position + 1])
