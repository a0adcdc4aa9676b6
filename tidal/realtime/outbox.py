"""Live model broadcasts through a transactional outbox.

A model names the topics its rows belong to::

    class Card(Model):
        __broadcast__ = "board:{board_id}"
        __broadcast_fields__ = ("id", "board_id", "title")  # optional: what is sent

and, with ``"tidal.realtime"`` among the installed apps, every change ``tidal.db.changes``
captures for such rows (a flush, an ORM UPDATE or DELETE statement, ``bulk_insert``,
``bulk_update``, ``record``) also writes one ``Outbox`` row per topic, in the same
transaction. So the broadcast is committed with the change, or rolled back with it. After
the commit the worker that made it relays the outbox to the pub/sub layer
(``Channels.publish``); every worker also sweeps the outbox periodically, so rows left
behind by a worker killed right after its commit still go out. Rows are claimed and
deleted in the transaction that publishes them (``DELETE ... RETURNING``, ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL): a publish that fails rolls the claim back and the rows are
relayed later. Delivery is at least once.

Events are ``<table>:insert``, ``<table>:update`` and ``<table>:delete`` (the prefix is
``__broadcast_name__`` when set) with the data::

    {"model": "card", "action": "update", "pk": [3], "data": {...}, "changed": ["title"]}

``__broadcast__`` is a template (``str.format`` with the row's values), a sequence of them,
or a function ``(values) -> topics``. An update that moves a row to another topic is sent to
the old and the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from string import Formatter
from typing import TYPE_CHECKING, Any, cast

import msgspec
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column

from tidal.db.changes import Change, TrackedSession, on_write
from tidal.db.models import Model, utcnow
from tidal.exceptions import ImproperlyConfigured
from tidal.realtime.channels import channels_of, check_name

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from tidal.app import Tidal
    from tidal.db.lifecycle import Database

logger = logging.getLogger("tidal.realtime.outbox")
STATE_KEY = "tidal.realtime.outbox"
TopicSpec = str | Sequence[str] | Callable[[Mapping[str, Any]], Iterable[str]]


class Outbox(Model):
    """A broadcast committed with the change that caused it, not yet published."""

    __tablename__ = "tidal_outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


OUTBOX: Table = cast(Table, Outbox.__table__)

# -- writing the outbox -------------------------------------------------------------------

_databases: weakref.WeakSet[Database] = weakref.WeakSet()
_warned: set[type] = set()
_encoder = msgspec.json.Encoder()


def _topics(model: type, spec: TopicSpec, values: Mapping[str, Any]) -> list[str]:
    try:
        if isinstance(spec, str):
            found = [spec.format_map(values)]
        elif callable(spec):
            found = list(spec(values))
        else:
            found = [template.format_map(values) for template in spec]
    except KeyError as exc:
        raise ImproperlyConfigured(
            f"{model.__name__}.__broadcast__ needs {exc} but the row's value is not loaded "
            "(or is not a column). Load it before changing the row."
        ) from None
    for topic in found:
        check_name(topic, "topic")
    return found


def entries(change: Change) -> list[dict[str, Any]]:
    """The outbox rows (topic, event, data) of one changed row of a broadcasting model."""
    model = change.model
    spec: TopicSpec | None = getattr(model, "__broadcast__", None)
    if spec is None:
        return []
    fields: Iterable[str] | None = getattr(model, "__broadcast_fields__", None)
    values = change.values
    data = values if fields is None else {k: v for k, v in values.items() if k in set(fields)}
    payload: dict[str, Any] = {
        "model": getattr(model, "__broadcast_name__", None) or change.table,
        "action": change.action,
        "pk": list(change.pk),
        "data": data,
    }
    topics = _topics(model, spec, values)
    if change.action == "update":
        changed = sorted(change.changed & data.keys())
        if not changed:
            return []  # nothing a subscriber may see changed
        payload["changed"] = changed
        if change.previous:
            for topic in _topics(model, spec, {**values, **change.previous}):
                if topic not in topics:
                    topics.append(topic)
    name = f"{payload['model']}:{change.action}"
    check_name(name, "event name")
    encoded = _encoder.encode(payload).decode()
    now = utcnow()
    return [{"topic": t, "event": name, "data": encoded, "created_at": now} for t in topics]


def _enabled(session: TrackedSession) -> bool:
    bind = session.get_bind()
    return any(d.started and d.engine.sync_engine is bind for d in list(_databases))


def routing_columns(model: type[Any]) -> frozenset[str]:
    """The attributes ``model``'s topics are made of: an UPDATE statement that sets one
    of them moves rows to other topics, so their former values are read first."""
    spec: TopicSpec | None = getattr(model, "__broadcast__", None)
    if spec is None:
        return frozenset()
    if callable(spec):
        return frozenset(p.key for p in sa_inspect(model).column_attrs)
    templates = [spec] if isinstance(spec, str) else list(spec)
    return frozenset(
        name.partition(".")[0].partition("[")[0]
        for template in templates
        for _, name, _, _ in Formatter().parse(template)
        if name
    )


def write_outbox(session: TrackedSession, changes: Sequence[Change]) -> None:
    """Add the outbox rows of captured changes to their transaction."""
    rows: list[dict[str, Any]] = []
    models: set[type] = set()
    for change in changes:
        if getattr(change.model, "__broadcast__", None) is not None:
            found = entries(change)
            if found:
                rows.extend(found)
                models.add(change.model)
    if not rows:
        return
    if not _enabled(session):
        for model in models - _warned:
            _warned.add(model)
            logger.warning(
                "%s rows were committed without a broadcast: add 'tidal.realtime' to the "
                "installed apps of the application whose database this is.",
                model.__name__,
            )
        return
    session.connection().execute(insert(OUTBOX), rows)


on_write(write_outbox, previous=routing_columns)  # every Tidal session, like the capture


# -- relaying it -----------------------------------------------------------------------


class OutboxRelay:
    """Publishes outbox rows: after each commit that wrote some, and every ``interval``
    seconds (any worker; rows are claimed atomically).

    Attributes:
        interval: seconds between sweeps (0 or less: no periodic sweep).
        batch: rows claimed per transaction.
        after_commit: relay right after a commit of this worker (tests turn it off to
            simulate a worker killed between its commit and its relay).
    """

    def __init__(self, app: Tidal) -> None:
        from tidal.db.lifecycle import database

        self.app = app
        self.database = database(app)
        self.interval = 5.0
        self.batch = 500
        self.after_commit = True
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    async def relay(self) -> int:
        """Claim and publish outbox rows until none is left; returns how many."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        total = 0
        async with self._lock:
            while True:
                count = await self._relay_batch()
                total += count
                if count < self.batch:
                    return total

    async def _relay_batch(self) -> int:
        channels = channels_of(self.app)
        async with self.database.engine.begin() as connection:
            rows = await self._claim(connection)
            for _, topic, name, data in sorted(rows):
                await channels.publish(topic, name, msgspec.json.decode(data))
        return len(rows)

    async def _claim(self, connection: AsyncConnection) -> list[tuple[int, str, str, str]]:
        table = OUTBOX
        columns = (table.c.id, table.c.topic, table.c.event, table.c.data)
        oldest = select(table.c.id).order_by(table.c.id).limit(self.batch)
        dialect = connection.dialect
        if dialect.name == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        if dialect.delete_returning:
            claimed = delete(table).where(table.c.id.in_(oldest)).returning(*columns)
            result = await connection.execute(claimed)
            return [(r[0], r[1], r[2], r[3]) for r in result]
        found = [
            tuple(r)
            for r in await connection.execute(
                select(*columns).order_by(table.c.id).limit(self.batch)
            )
        ]
        if found:
            await connection.execute(delete(table).where(table.c.id.in_([r[0] for r in found])))
        return [(r[0], r[1], r[2], r[3]) for r in found]

    async def _committed(self, changes: Sequence[Change]) -> None:
        if self.after_commit and any(
            getattr(c.model, "__broadcast__", None) is not None for c in changes
        ):
            await self.relay()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.relay()
            except Exception:
                logger.exception("Relaying the outbox failed; retrying in %ss", self.interval)
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        """Start sweeping (a first sweep relays what stopped workers left)."""
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._sweep_forever(), name="tidal outbox sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def install(app: Tidal) -> OutboxRelay:
    """Write and relay ``app``'s outbox (the ``tidal.realtime`` app does it). Idempotent."""
    existing = app.state.get(STATE_KEY)
    if isinstance(existing, OutboxRelay):
        return existing
    relay = OutboxRelay(app)
    app.state[STATE_KEY] = relay
    _databases.add(relay.database)
    relay.database.on_commit(relay._committed)
    app.on_startup(relay.start)
    app.on_shutdown(relay.stop)
    return relay


def outbox(app: Tidal) -> OutboxRelay:
    """The outbox relay of ``app`` (installing it if needed)."""
    return install(app)


__all__ = ["Outbox", "OutboxRelay", "entries", "install", "outbox"]
