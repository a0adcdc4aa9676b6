"""After-commit change capture: delivered only after a successful commit, never for
rolled-back work, merged per row, with the changed fields of updates."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import tidal.db
from tidal import Tidal
from tidal.db import Change, Session, bulk_insert, bulk_update
from tidal.db.changes import TrackedSession, after_commit, off_write, on_write, record
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
    assert [(c.action, c.pk, c.changed, c.values["name"]) for c in delivery] == [
        ("update", (boards[0].id,), frozenset({"name", "updated_at"}), "First"),
        ("update", (boards[2].id,), frozenset({"name", "updated_at"}), "Third"),
    ]
    assert all(c.values["id"] == c.pk[0] and "created_at" in c.values for c in delivery)


async def test_bulk_update_needs_primary_keys(app: Tidal) -> None:
    async with tidal.db.session(app) as db:
        with pytest.raises(ValueError, match="lack the primary key"):
            await bulk_update(db, Board, [{"name": "no id"}])


async def _board_with_cards(app: Tidal, *titles: str) -> int:
    async with tidal.db.session(app) as db:
        board = Board(name="Statements")
        db.add(board)
        await db.flush()
        db.add_all(
            Card(board_id=board.id, title=title, position=n) for n, title in enumerate(titles)
        )
        return board.id


@pytest.mark.parametrize("synchronize", ["auto", "fetch", False])
async def test_update_statements_are_captured_with_their_rows(
    app: Tidal, recorder: Recorder, synchronize: str | bool
) -> None:
    board_id = await _board_with_cards(app, "a", "b", "c")
    recorder.deliveries.clear()
    async with tidal.db.session(app) as db:
        loaded = (await db.scalars(select(Card).order_by(Card.id))).all()
        statement = update(Card).where(Card.position >= 1).values(position=Card.position + 10)
        result = await db.execute(statement, execution_options={"synchronize_session": synchronize})
        assert result.rowcount == 2  # the caller's result is untouched
        if synchronize:
            assert [card.position for card in loaded] == [0, 11, 12]
    [delivery] = recorder.deliveries
    assert [(c.action, c.values["title"], c.values["position"]) for c in delivery] == [
        ("update", "b", 11),
        ("update", "c", 12),
    ]
    for change in delivery:
        assert change.model is Card
        assert change.pk == (change.values["id"],)
        assert change.values["board_id"] == board_id  # every column, to route broadcasts
        assert change.changed == {"position", "updated_at"}


async def test_a_parameter_dict_names_what_an_update_statement_sets(
    app: Tidal, recorder: Recorder
) -> None:
    await _board_with_cards(app, "a")
    recorder.deliveries.clear()
    async with tidal.db.session(app) as db:
        await db.execute(update(Card).where(Card.title == "a"), {"note": "from a parameter"})
    [[change]] = recorder.deliveries
    assert change.changed == {"note", "updated_at"}
    assert change.values["note"] == "from a parameter"


async def test_delete_statements_are_captured_with_the_rows_as_they_were(
    app: Tidal, recorder: Recorder
) -> None:
    await _board_with_cards(app, "keep", "drop")
    recorder.deliveries.clear()
    async with tidal.db.session(app) as db:
        result = await db.execute(delete(Card).where(Card.title == "drop"))
        assert result.rowcount == 1
    [[change]] = recorder.deliveries
    assert (change.action, change.values["title"], change.values["position"]) == (
        "delete",
        "drop",
        1,
    )


async def test_a_statement_with_its_own_returning_is_captured_too(
    app: Tidal, recorder: Recorder
) -> None:
    await _board_with_cards(app, "a", "b")
    recorder.deliveries.clear()
    async with tidal.db.session(app) as db:
        returned = await db.execute(
            update(Card).where(Card.title == "b").values(title="B").returning(Card.id, Card.title)
        )
        assert [row.title for row in returned] == ["B"]  # what the caller asked for
        await db.execute(delete(Card).where(Card.title == "a").returning(Card.id))
    [delivery] = recorder.deliveries
    assert [(c.action, c.values["title"]) for c in delivery] == [("update", "B"), ("delete", "a")]
    assert delivery[0].changed == {"title", "updated_at"}


async def test_statements_rolled_back_are_never_reported(app: Tidal, recorder: Recorder) -> None:
    await _board_with_cards(app, "a", "b")
    recorder.deliveries.clear()

    async def undone() -> None:
        async with tidal.db.session(app) as db:
            await db.execute(update(Card).values(note="rolled back"))
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        await undone()
    async with tidal.db.session(app) as db:
        savepoint = await db.begin_nested()
        await db.execute(delete(Card).where(Card.title == "a"))
        await savepoint.rollback()
        await db.execute(update(Card).where(Card.title == "b").values(note="kept"))
    [[change]] = recorder.deliveries
    assert (change.action, change.values["title"], change.values["note"]) == ("update", "b", "kept")


async def test_the_orm_bulk_update_by_primary_key_is_captured(
    app: Tidal, recorder: Recorder
) -> None:
    await _board_with_cards(app, "a", "b")
    async with tidal.db.session(app) as db:
        ids = (await db.scalars(select(Card.id).order_by(Card.id))).all()
    recorder.deliveries.clear()
    async with tidal.db.session(app) as db:
        rows = [{"id": ids[0], "note": "one"}, {"id": ids[1], "position": 7}, {"id": 999}]
        await db.execute(update(Card), rows)
    [delivery] = recorder.deliveries
    assert [(c.pk, c.changed, c.values["title"]) for c in delivery] == [
        ((ids[0],), frozenset({"note", "updated_at"}), "a"),
        ((ids[1],), frozenset({"position", "updated_at"}), "b"),
    ]  # the row that does not exist changed nothing


async def test_previous_values_are_read_for_the_attributes_a_write_hook_needs(
    app: Tidal,
) -> None:
    board_id = await _board_with_cards(app, "a", "b")
    seen: list[Change] = []

    def hook(session: TrackedSession, changes: Sequence[Change]) -> None:
        seen.extend(c for c in changes if c.action == "update")

    on_write(hook, previous=lambda model: {"position"} if model is Card else ())
    try:
        async with tidal.db.session(app) as db:
            await db.execute(update(Card).values(position=Card.position + 5, note="n"))
            ids = (await db.scalars(select(Card.id).order_by(Card.id))).all()
            await db.execute(update(Card), [{"id": ids[0], "position": 9}])
    finally:
        off_write(hook)
    assert [(c.values["position"], c.previous) for c in seen] == [
        (5, {"position": 0}),
        (6, {"position": 1}),
        (9, {"position": 5}),
    ]
    assert all(c.values["board_id"] == board_id for c in seen)


async def test_statements_on_a_core_table_are_not_captured(app: Tidal, recorder: Recorder) -> None:
    await _board_with_cards(app, "a")
    recorder.deliveries.clear()
    table = Card.__table__
    async with tidal.db.session(app) as db:
        await db.execute(update(table).values(note="core"))  # documented: not seen
        [card] = (await db.scalars(select(Card))).all()
        await record(
            db, [Change("update", Card, (card.id,), {"note": "core"}, frozenset({"note"}))]
        )
    [[change]] = recorder.deliveries  # only what was recorded by hand
    assert change.values == {"note": "core"}


async def test_after_commit_runs_once_committed_and_never_for_undone_work(app: Tidal) -> None:
    ran: list[str] = []

    async def note(name: str) -> None:
        ran.append(name)

    async def undone() -> None:
        async with tidal.db.session(app) as db:
            await after_commit(db, lambda: note("rolled back"))
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        await undone()
    async with tidal.db.session(app) as db:
        savepoint = await db.begin_nested()
        await after_commit(db, lambda: note("in a rolled-back savepoint"))
        await savepoint.rollback()
        async with db.begin_nested():
            await after_commit(db, lambda: note("in a released savepoint"))
        await after_commit(db, lambda: ran.append("sync, no row changed"))
        assert ran == []  # not before the commit
    assert ran == ["in a released savepoint", "sync, no row changed"]
    await after_commit(AsyncSession(), lambda: note("not a Tidal session: at once"))
    assert ran[-1] == "not a Tidal session: at once"
