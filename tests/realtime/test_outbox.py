"""Live model broadcasts through the outbox: on SQLite and PostgreSQL, with the memory and
the Redis backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, func, inspect, select, update

import tidal.db
from tidal import HTTPError, Tidal, WebSocket
from tidal.db import Change, Model, bulk_insert, bulk_update
from tidal.db.changes import record
from tidal.db.migrations.runner import Migrations
from tidal.realtime import Broadcast, Channels, Refused
from tidal.realtime.backends import MemoryBroker, MemoryPubSub
from tidal.realtime.outbox import Outbox, OutboxRelay, _warned, outbox
from tidal.testing import TestClient, WebSocketSession

from ..conftest import SECRET
from ..db.conftest import DBSettings
from ..db.conftest import backend as backend
from ..db.conftest import database_url as database_url
from .live.models import LiveCard, LiveNote

PATH = "/_tidal/socket"
APPS = ("tidal.realtime", "tests.realtime.live")
USERS = {"ann": {"id": 1, "staff": True}, "bob": {"id": 2, "staff": False}}


@pytest.fixture
def make_live_app(database_url: str, rt_settings: dict[str, Any]) -> Callable[..., Tidal]:
    def factory(apps: tuple[str, ...] = APPS, **settings: Any) -> Tidal:
        values: dict[str, Any] = {
            "secret_key": SECRET,
            "allowed_hosts": ["testserver"],
            "database_url": database_url,
            **rt_settings,
            **settings,
        }
        app = Tidal(apps=apps, settings=DBSettings(**values))
        tidal.db.install(app)
        return app

    return factory


@pytest_asyncio.fixture
async def app(make_live_app: Callable[..., Tidal]) -> AsyncIterator[Tidal]:
    app = make_live_app()
    channels: Channels = app.channels

    async def authenticate(websocket: WebSocket) -> dict[str, Any] | None:
        name = websocket.headers.get("authorization", "").removeprefix("Bearer ")
        if name == "bad":
            raise HTTPError(403, "bad token")
        return USERS.get(name)

    channels.authenticate = authenticate

    @app.channel("board:{board_id:int}")
    async def board(board_id: int, user: dict[str, Any] | None) -> None:
        if user is None:
            raise Refused("sign in")

    @board.group_by
    def rights(user: dict[str, Any]) -> str:
        return "staff" if user["staff"] else "member"

    @board.visible_to
    def visible(group: Any, broadcast: Broadcast) -> bool:
        return group == "staff" or not broadcast.data["data"].get("private", False)

    async with tidal.db.database(app).engine.begin() as connection:
        await connection.run_sync(Model.metadata.create_all)
    yield app
    await tidal.db.database(app).dispose()


def connect(client: TestClient, user: str = "ann") -> WebSocketSession:
    return client.websocket_connect(PATH, headers={"authorization": f"Bearer {user}"})


async def join(socket: WebSocketSession, topic: str, ref: int = 1) -> None:
    await socket.send_json({"type": "join", "ref": ref, "topic": topic})
    reply = await socket.receive_json()
    assert reply["status"] == "ok", reply


async def event(socket: WebSocketSession) -> tuple[str, str, Any]:
    frame = await socket.receive_json()
    assert frame["type"] == "event", frame
    return frame["topic"], frame["event"], frame["data"]


async def outbox_rows(app: Tidal) -> int:
    async with tidal.db.database(app).session() as db:
        return int((await db.execute(select(func.count()).select_from(Outbox))).scalar_one())


async def test_inserts_updates_and_deletes_reach_subscribers(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")
        async with database.session() as db:
            card = LiveCard(board_id=1, title="Write tests", secret="s3cret")
            db.add(card)
            db.add(LiveNote(text="not broadcast"))
        inserted = {"id": 1, "board_id": 1, "title": "Write tests", "private": False}
        assert await event(socket) == (
            "board:1",
            "live_card:insert",
            {"model": "live_card", "action": "insert", "pk": [1], "data": inserted},
        )
        async with database.session() as db:
            card = await db.get_one(LiveCard, 1)
            card.title = "Write more tests"
        assert await event(socket) == (
            "board:1",
            "live_card:update",
            {
                "model": "live_card",
                "action": "update",
                "pk": [1],
                "data": {**inserted, "title": "Write more tests"},
                "changed": ["title"],
            },
        )
        async with database.session() as db:
            card = await db.get_one(LiveCard, 1)
            card.secret = "not a broadcast field"  # nothing visible changed: no event
        async with database.session() as db:
            await db.delete(await db.get_one(LiveCard, 1))
        topic, name, data = await event(socket)
        assert (topic, name, data["action"], data["pk"]) == (
            "board:1",
            "live_card:delete",
            "delete",
            [1],
        )
        assert data["data"]["title"] == "Write more tests"
        assert "secret" not in data["data"]
        assert await outbox_rows(app) == 0


async def test_moving_a_row_tells_both_topics(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with database.session() as db:
        db.add(LiveCard(board_id=1, title="Move me"))
    async with TestClient(app) as client, connect(client) as one, connect(client) as two:
        await join(one, "board:1")
        await join(two, "board:2")
        async with database.session() as db:
            (await db.get_one(LiveCard, 1)).board_id = 2
        for socket, topic in ((one, "board:1"), (two, "board:2")):
            got, name, data = await event(socket)
            assert (got, name, data["changed"], data["data"]["board_id"]) == (
                topic,
                "live_card:update",
                ["board_id"],
                2,
            )


async def test_rolled_back_work_publishes_nothing(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")

        async def fail() -> None:
            async with database.session() as db:
                db.add(LiveCard(board_id=1, title="Rolled back"))
                await db.flush()  # the outbox row is written, then rolled back with it
                raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError):
            await fail()
        async with database.session() as db:
            db.add(LiveCard(board_id=1, title="Committed"))
            await db.flush()
            async with db.begin_nested():
                db.add(LiveCard(board_id=1, title="In a savepoint"))
                await db.flush()
        _, _, data = await event(socket)
        assert data["data"]["title"] == "Committed"
        _, _, data = await event(socket)
        assert data["data"]["title"] == "In a savepoint"  # released, so committed
        async with database.session() as db:
            savepoint = await db.begin_nested()
            db.add(LiveCard(board_id=1, title="Savepoint rolled back"))
            await db.flush()
            await savepoint.rollback()
            db.add(LiveCard(board_id=1, title="After the savepoint"))
        _, _, data = await event(socket)
        assert data["data"]["title"] == "After the savepoint"
        assert await outbox_rows(app) == 0


async def test_rows_left_behind_by_a_dead_worker_are_relayed_by_the_sweep(app: Tidal) -> None:
    relay: OutboxRelay = outbox(app)
    relay.after_commit = False  # the worker "dies" between its commit and its relay
    relay.interval = 0.05
    database = tidal.db.database(app)
    async with database.session() as db:
        db.add(LiveCard(board_id=1, title="Orphan"))
    assert await outbox_rows(app) == 1
    async with TestClient(app) as client, connect(client) as socket:  # another worker
        # The sweep may run before or after the join: replaying from "0-0" covers both.
        await socket.send_json({"type": "join", "ref": 1, "topic": "board:1", "since": "0-0"})
        frames = [await socket.receive_json()]
        while not any(f["type"] == "event" for f in frames):
            frames.append(await socket.receive_json())
        (found,) = [f for f in frames if f["type"] == "event"]
        assert (found["event"], found["data"]["data"]["title"]) == ("live_card:insert", "Orphan")
    assert await outbox_rows(app) == 0


async def test_another_worker_relays_what_a_dead_one_committed(
    app: Tidal, make_live_app: Callable[..., Tidal], backend_kind: str
) -> None:
    outbox(app).after_commit = False  # this worker dies between its commit and its relay
    outbox(app).interval = 0
    survivor = make_live_app()  # same database (and Redis prefix)
    if backend_kind == "memory":  # two workers sharing one in-process broker
        broker = MemoryBroker()
        app.channels.backend = MemoryPubSub(broker=broker)
        survivor.channels.backend = MemoryPubSub(broker=broker)
    relay = outbox(survivor)
    relay.interval = 0
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")
        async with tidal.db.database(app).session() as db:
            db.add(LiveCard(board_id=1, title="Orphan"))
        assert await outbox_rows(app) == 1
        async with TestClient(survivor):
            assert await relay.relay() == 1
            assert (await event(socket))[2]["data"]["title"] == "Orphan"
    await tidal.db.database(survivor).dispose()


async def test_a_sweep_relays_in_commit_order(app: Tidal) -> None:
    relay = outbox(app)
    relay.after_commit = False
    relay.interval = 0  # no periodic sweep: relayed by hand
    relay.batch = 2
    database = tidal.db.database(app)
    for n in range(5):
        async with database.session() as db:
            db.add(LiveCard(board_id=1, title=f"card {n}"))
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")
        assert await relay.relay() == 5
        titles = [(await event(socket))[2]["data"]["title"] for _ in range(5)]
        assert titles == [f"card {n}" for n in range(5)]
        assert await relay.relay() == 0


async def test_concurrent_sweeps_claim_each_row_once(app: Tidal) -> None:
    workers = [OutboxRelay(app) for _ in range(3)]  # three workers sweeping one database
    for worker in workers:
        worker.batch = 2
    own = outbox(app)
    own.after_commit, own.interval = False, 0
    database = tidal.db.database(app)
    async with database.session() as db:
        db.add_all(LiveCard(board_id=1, title=f"card {n}") for n in range(9))
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")
        counts = await asyncio.gather(*(worker.relay() for worker in workers))
        assert sum(counts) == 9
        titles = sorted([(await event(socket))[2]["data"]["title"] for _ in range(9)])
        assert titles == [f"card {n}" for n in range(9)]
    assert await outbox_rows(app) == 0


async def test_visibility_applies_to_model_broadcasts(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with TestClient(app) as client, connect(client) as ann, connect(client, "bob") as bob:
        await join(ann, "board:1")
        await join(bob, "board:1")
        async with database.session() as db:
            db.add(LiveCard(board_id=1, title="Staff only", private=True))
        async with database.session() as db:
            db.add(LiveCard(board_id=1, title="Everyone"))
        assert (await event(ann))[2]["data"]["title"] == "Staff only"
        assert (await event(ann))[2]["data"]["title"] == "Everyone"
        assert (await event(bob))[2]["data"]["title"] == "Everyone"  # the private one skipped


async def test_the_outbox_table_is_created_by_migrate(
    make_live_app: Callable[..., Tidal],
) -> None:
    app = make_live_app(apps=("tidal.realtime",))
    applied = await asyncio.to_thread(Migrations(app).migrate)
    assert applied
    async with tidal.db.database(app).engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
    assert "tidal_outbox" in tables
    await tidal.db.database(app).dispose()  # (the migrations run on their own loop)
    assert await asyncio.to_thread(Migrations(app).check) == []  # the model matches


async def test_without_the_realtime_app_nothing_is_written_and_a_warning_says_why(
    make_live_app: Callable[..., Tidal], caplog: pytest.LogCaptureFixture
) -> None:
    _warned.discard(LiveCard)  # warned once per model and process
    app = make_live_app(apps=("tests.realtime.live",))
    database = tidal.db.database(app)
    async with database.engine.begin() as connection:
        await connection.run_sync(Model.metadata.create_all)
    async with database.session() as db:
        db.add(LiveCard(board_id=1, title="Not broadcast"))
    assert await outbox_rows(app) == 0
    assert "LiveCard rows were committed without a broadcast" in caplog.text
    await database.dispose()


async def test_bulk_helpers_and_orm_statements_broadcast(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with TestClient(app) as client, connect(client) as one, connect(client) as two:
        await join(one, "board:1")
        await join(two, "board:2")
        async with database.session() as db:
            cards = await bulk_insert(
                db, LiveCard, [{"board_id": 1, "title": f"c{n}"} for n in (0, 1, 2)]
            )
        assert [(await event(one))[1:] for _ in cards] == [
            (
                "live_card:insert",
                {
                    "model": "live_card",
                    "action": "insert",
                    "pk": [c.id],
                    "data": {"id": c.id, "board_id": 1, "title": c.title, "private": False},
                },
            )
            for c in cards
        ]
        async with database.session() as db:
            await bulk_update(db, LiveCard, [{"id": cards[0].id, "title": "bulk"}])
        _, name, data = await event(one)
        assert (name, data["data"]["title"], data["data"]["board_id"], data["changed"]) == (
            "live_card:update",
            "bulk",
            1,  # read back: the routing column was not given
            ["title"],
        )
        async with database.session() as db:
            await db.execute(
                update(LiveCard).where(LiveCard.id == cards[1].id).values(title="stmt")
            )
        _, name, data = await event(one)
        assert (name, data["data"]["title"], data["changed"]) == (
            "live_card:update",
            "stmt",
            ["title"],
        )
        async with database.session() as db:  # a statement moving a card: both boards told
            await db.execute(update(LiveCard).where(LiveCard.id == cards[2].id).values(board_id=2))
        for socket, topic in ((one, "board:1"), (two, "board:2")):
            got, name, data = await event(socket)
            assert (got, name, data["changed"], data["data"]["board_id"]) == (
                topic,
                "live_card:update",
                ["board_id"],
                2,
            )
        async with database.session() as db:
            await db.execute(delete(LiveCard).where(LiveCard.board_id == 1))
        deleted = sorted([(await event(one))[2]["data"]["title"] for _ in range(2)])
        assert deleted == ["bulk", "stmt"]
        assert await outbox_rows(app) == 0


async def test_a_core_table_statement_broadcasts_only_what_is_recorded(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with database.session() as db:
        card = LiveCard(board_id=1, title="Core")
        db.add(card)
    table = LiveCard.__table__
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")
        async with database.session() as db:
            await db.execute(update(table).where(table.c.id == card.id).values(title="silent"))
            assert await outbox_rows(app) == 0  # (this session's transaction wrote none)
            values = {"id": card.id, "board_id": 1, "title": "told", "private": False}
            await db.execute(update(table).where(table.c.id == card.id).values(title="told"))
            await record(db, [Change("update", LiveCard, (card.id,), values, frozenset({"title"}))])
        _, name, data = await event(socket)
        assert (name, data["data"]["title"]) == ("live_card:update", "told")  # no "silent"


async def test_a_rolled_back_statement_broadcasts_nothing(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with database.session() as db:
        db.add(LiveCard(board_id=1, title="Before"))
    async with TestClient(app) as client, connect(client) as socket:
        await join(socket, "board:1")

        async def undone() -> None:
            async with database.session() as db:
                await db.execute(update(LiveCard).values(title="Rolled back"))
                raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError):
            await undone()
        async with database.session() as db:
            await db.execute(update(LiveCard).values(title="Committed"))
        _, _, data = await event(socket)
        assert data["data"]["title"] == "Committed"
    assert await outbox_rows(app) == 0
