"""After-commit change capture: delivered only after a successful commit, never for
rolled-back work, merged per row, with the changed fields of updates."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

import tidal.db
from tidal import Tidal
from tidal.db import Change, Session, bulk_insert, bulk_update
from tidal.testing import TestClient

from .blog.models import Author, Board, Card


class Recorder:
    """A commit listener that remembers each delivery and whether the data was visible."""

    def __init__(self, app: Tidal) -> None:
        self.app = app
        self.deliveries: list[list[Change]] = []

    async def __call__(self, changes: Sequence[Change]) -> None:
        self.deliveries.append(list(changes))

    @property
    def changes(self) -> list[tuple[str, str, Any]]:
        return [
            (c.action, c.model.__name__, c.values.get("name") or c.values.get("title"))
            for delivery in self.deliveries
            for c in delivery
        ]


@pytest.fixture
def recorder(app: Tidal) -> Recorder:
    recorder = Recorder(app)
    tidal.db.database(app).on_commit(recorder)
    return recorder


async def test_changes_are_delivered_only_after_the_commit(app: Tidal, recorder: Recorder) -> None:
    visible: list[bool] = []

    async def check_committed(changes: Sequence[Change]) -> None:
        # Another session (another connection) already sees the rows: the commit is done.
        async with tidal.db.session(app) as other:
            visible.append(await other.get(Board, changes[0].pk[0]) is not None)

    tidal.db.database(app).on_commit(check_committed)

    @app.post("/boards")
    async def create(db: Session) -> None:
        db.add(Board(name="Launch"))
        await db.flush()
        assert recorder.deliveries == []  # flushed, not committed: nothing reported yet

    async with TestClient(app) as client:
        assert (await client.post("/boards")).status_code == 204
    assert recorder.changes == [("insert", "Board", "Launch")]
    assert visible == [True]


async def test_rolled_back_work_is_never_reported(app: Tidal, recorder: Recorder) -> None:
    @app.post("/fail")
    async def fail(db: Session) -> None:
        db.add(Board(name="Ghost"))
        await db.flush()
        raise RuntimeError("fails after the flush")

    async with TestClient(app) as client:
        assert (await client.post("/fail")).status_code == 500
    async with tidal.db.session(app) as db:
        db.add(Board(name="Rolled back"))
        await db.flush()
        await db.rollback()
        db.add(Board(name="Kept"))
    assert recorder.changes == [("insert", "Board", "Kept")]


async def test_a_rolled_back_savepoint_is_dropped_and_a_released_one_kept(
    app: Tidal, recorder: Recorder
) -> None:
    async with tidal.db.session(app) as db:
        db.add(Board(name="Outer"))
        await db.flush()
        async with db.begin_nested():
            db.add(Board(name="Released"))
        savepoint = await db.begin_nested()
        db.add(Board(name="Discarded"))
        await db.flush()
        await savepoint.rollback()
    assert recorder.changes == [("insert", "Board", "Outer"), ("insert", "Board", "Released")]


async def test_updates_carry_changed_fields_and_previous_values(
    app: Tidal, recorder: Recorder
) -> None:
    async with tidal.db.session(app) as db:
        board = Board(name="Plan")
        db.add(board)
        await db.flush()
        card = Card(board_id=board.id, title="Draft", position=1)
        db.add(card)
    recorder.deliveries.clear()

    async with tidal.db.session(app) as db:
        card = (await db.scalars(select(Card))).one()
        card.title = "Final"
        await db.flush()
        card.position = 5
        await db.flush()
        card.position = 6  # the same row three times in one transaction: one update
    [[update]] = recorder.deliveries
    assert update.action == "update"
    assert update.model is Card
    assert update.table == "card"
    assert update.changed == {"title", "position", "updated_at"}
    assert update.previous["title"] == "Draft"
    assert update.previous["position"] == 1
    assert update.values["title"] == "Final"
    assert update.values["position"] == 6
    assert update.values["board_id"] == card.board_id  # unchanged values route broadcasts
    assert update.pk == (card.id,)


async def test_insert_then_delete_in_one_transaction_is_nothing(
    app: Tidal, recorder: Recorder
) -> None:
    async with tidal.db.session(app) as db:
        temp = Author(email="temp@example.com", name="Temp")
        db.add(temp)
        await db.flush()
        await db.delete(temp)
        db.add(Author(email="kept@example.com", name="Kept"))
    assert recorder.changes == [("insert", "Author", "Kept")]

    async with tidal.db.session(app) as db:
        kept = (await db.scalars(select(Author))).one()
        await db.delete(kept)
    assert recorder.deliveries[-1][0].action == "delete"
    assert recorder.deliveries[-1][0].pk == (kept.id,)


async def test_listeners_filter_by_model_and_global_listeners(app: Tidal) -> None:
    boards: list[Change] = []
    everything: list[Change] = []
    tidal.db.database(app).on_commit(boards.extend, models=[Board])

    @tidal.db.on_commit
    def every(changes: Sequence[Change]) -> None:
        everything.extend(changes)

    try:
        async with tidal.db.session(app) as db:
            board = Board(name="B")
            db.add(board)
            await db.flush()
            db.add(Card(board_id=board.id, title="C"))
    finally:
        tidal.db.off_commit(every)
    assert [c.model for c in boards] == [Board]
    assert sorted(c.model.__name__ for c in everything) == ["Board", "Card"]


async def test_a_failing_listener_is_logged_and_the_others_still_run(
    app: Tidal, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(changes: Sequence[Change]) -> None:
        raise ValueError("listener bug")

    database = tidal.db.database(app)
    database.listeners.insert(0, type(database.listeners[0])(broken))
    with caplog.at_level(logging.ERROR, logger="tidal.db.changes"):
        async with tidal.db.session(app) as db:
            db.add(Board(name="Still saved"))
    assert recorder.changes == [("insert", "Board", "Still saved")]
    assert "Commit listener" in caplog.text
    assert "listener bug" in caplog.text


async def test_session_begin_block_delivers_on_exit(app: Tidal, recorder: Recorder) -> None:
    database = tidal.db.database(app)
    session = database.sessionmaker()
    async with session.begin():
        session.add(Board(name="In a block"))
    await session.close()
    assert recorder.changes == [("insert", "Board", "In a block")]


async def test_bulk_writes_are_captured(app: Tidal, recorder: Recorder) -> None:
    async with tidal.db.session(app) as db:
        boards = await bulk_insert(db, Board, [{"name": f"Board {i}"} for i in range(3)])
        assert [b.name for b in boards] == ["Board 0", "Board 1", "Board 2"]
        assert all(isinstance(b.id, int) for b in boards)
    assert [c[2] for c in recorder.changes] == ["Board 0", "Board 1", "Board 2"]
    recorder.deliveries.clear()

    async with tidal.db.session(app) as db:
        rows = [{"id": boards[0].id, "name": "First"}, {"id": boards[2].id, "name": "Third"}]
        updated = await bulk_update(db, Board, rows)
        assert updated == 2
    async with tidal.db.session(app) as db:
        names = (await db.scalars(select(Board.name).order_by(Board.id))).all()
    assert names == ["First", "Board 1", "Third"]
    [delivery] = recorder.deliveries
    assert [(c.action, c.pk, c.changed) for c in delivery] == [
        ("update", (boards[0].id,), frozenset({"name"})),
        ("update", (boards[2].id,), frozenset({"name"})),
    ]


async def test_bulk_update_needs_primary_keys(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        with pytest.raises(ValueError, match="lack the primary key"):
            await bulk_update(db, Board, [{"name": "no id"}])
