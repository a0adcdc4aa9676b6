"""After-commit change capture: which rows a transaction inserted, updated and deleted,
handed to listeners once the commit has succeeded, and never for rolled-back work.

Real-time broadcasts and cache invalidation build on this::

    @tidal.db.on_commit
    async def publish(changes: Sequence[Change]) -> None:
        for change in changes:
            ...  # change.action, change.model, change.pk, change.values, change.changed

How it works: after each flush the session records what the flush wrote, tagged with the
transaction (or SAVEPOINT) it belongs to. A SAVEPOINT rolled back drops its records; the
outermost commit moves the rest to a "committed" list that ``Session.commit`` hands to the
listeners, merged per row. Changes made by ``bulk_insert``/``bulk_update`` are recorded
too; other statements that change many rows at once (``update(Card).where(...)``) are not.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, Session, SessionTransaction, UOWTransaction
from sqlalchemy.orm.state import InstanceState

logger = logging.getLogger("tidal.db.changes")

Action = Literal["insert", "update", "delete"]


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One row changed by a committed transaction.

    Attributes:
        action: ``"insert"``, ``"update"`` or ``"delete"``.
        model: the mapped class.
        pk: the primary key values, in the table's primary key order.
        values: column attribute values as of the last write (all loaded ones, so an
            update still carries e.g. ``board_id`` for routing a broadcast).
        changed: for updates, the attributes that changed; for inserts, all of ``values``.
        previous: for updates, the values the changed attributes had before, when known.
    """

    action: Action
    model: type[Any]
    pk: tuple[Any, ...]
    values: dict[str, Any]
    changed: frozenset[str] = frozenset()
    previous: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def table(self) -> str:
        return str(self.model.__table__.name)


Listener = Callable[[Sequence[Change]], Awaitable[None] | None]


@dataclasses.dataclass(frozen=True, slots=True)
class Registration:
    listener: Callable[..., Any]
    models: tuple[type, ...] = ()

    def select(self, changes: Sequence[Change]) -> Sequence[Change]:
        if not self.models:
            return changes
        return [c for c in changes if issubclass(c.model, self.models)]


_listeners: list[Registration] = []


def on_commit(listener: Callable[..., Any] | None = None, *, models: Iterable[type] = ()) -> Any:
    """Call ``listener(changes)`` (sync or async) after every successful commit of any
    Tidal session, with the changed rows of ``models`` (all models by default).

    Usable as ``@on_commit`` or ``@on_commit(models=[Card])``. For one application only,
    use ``tidal.db.database(app).on_commit(listener)``. A listener that raises is logged
    and the others still run: the data is committed whatever a listener does.
    """

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _listeners.append(Registration(function, tuple(models)))
        return function

    return register if listener is None else register(listener)


def off_commit(listener: Callable[..., Any]) -> None:
    """Stop calling ``listener`` (registered with ``on_commit``)."""
    _listeners[:] = [r for r in _listeners if r.listener is not listener]


async def deliver(changes: Sequence[Change], registrations: Iterable[Registration]) -> None:
    """Hand ``changes`` to each registration, in order; errors are logged, not raised."""
    for registration in (*_listeners, *registrations):
        selected = registration.select(changes)
        if not selected:
            continue
        try:
            result = registration.listener(selected)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception(
                "Commit listener %r failed (the transaction is committed)",
                registration.listener,
            )


# -- recording ---------------------------------------------------------------------------


class TrackedSession(Session):
    """The synchronous session under ``tidal.db.Session``: it records what each flush
    wrote, for delivery after the outermost commit."""

    _tidal_pending: list[tuple[SessionTransaction, Change]] | None = None
    _tidal_committed: list[Change] | None = None

    def take_committed(self) -> list[Change]:
        """The committed changes not yet delivered, merged per row; clears them."""
        committed, self._tidal_committed = self._tidal_committed, None
        return merge(committed) if committed else []

    def record(self, change: Change) -> None:
        """Record a change made outside the unit of work (bulk statements)."""
        transaction = self.get_nested_transaction() or self.get_transaction()
        if transaction is None:
            return
        if self._tidal_pending is None:
            self._tidal_pending = []
        self._tidal_pending.append((transaction, change))


_Keys = tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]
_mapper_keys: dict[Mapper[Any], _Keys] = {}


def _keys(mapper: Mapper[Any]) -> _Keys:
    """(primary key attribute names, column attribute names, names of columns that an
    ``onupdate`` fills during the flush) of a mapper, cached."""
    keys = _mapper_keys.get(mapper)
    if keys is None:
        pk = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        columns = tuple(p.key for p in mapper.column_attrs)
        on_update = frozenset(
            p.key
            for p in mapper.column_attrs
            if any(getattr(c, "onupdate", None) is not None for c in p.columns)
        )
        keys = _mapper_keys[mapper] = (pk, columns, on_update)
    return keys


def _snapshot(state: InstanceState[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    pk_keys, column_keys, _ = _keys(state.mapper)
    loaded = state.dict
    values = {key: loaded[key] for key in column_keys if key in loaded}
    return tuple(loaded.get(key) for key in pk_keys), values


def change_for(action: Action, obj: object) -> Change | None:
    """The ``Change`` a flush of ``obj`` makes (``None``: an update that changed nothing)."""
    state: InstanceState[Any] = sa_inspect(obj)
    pk, values = _snapshot(state)
    if action == "insert":
        return Change("insert", state.class_, pk, values, frozenset(values))
    if action == "delete":
        return Change("delete", state.class_, pk, values)
    changed: set[str] = set()
    previous: dict[str, Any] = {}
    attrs = state.attrs
    _, column_keys, on_update = _keys(state.mapper)
    for key in column_keys:
        history = attrs[key].history
        if history.added:
            changed.add(key)
            if history.deleted:
                previous[key] = history.deleted[0]
    if not changed:
        return None
    changed.update(key for key in on_update if key in values)
    if previous:
        # Keys changed by this flush carry their old value in the primary key, not the new.
        pk_keys = _keys(state.mapper)[0]
        pk = tuple(previous.get(key, value) for key, value in zip(pk_keys, pk, strict=True))
    return Change("update", state.class_, pk, values, frozenset(changed), previous)


@event.listens_for(TrackedSession, "after_flush")
def _after_flush(session: TrackedSession, context: UOWTransaction) -> None:
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # pragma: no cover - a flush always runs in a transaction
        return
    pending = session._tidal_pending
    if pending is None:
        pending = session._tidal_pending = []
    for obj in session.new:
        change = change_for("insert", obj)
        if change is not None:
            pending.append((transaction, change))
    for obj in session.dirty:
        change = change_for("update", obj)
        if change is not None:
            pending.append((transaction, change))
    for obj in session.deleted:
        change = change_for("delete", obj)
        if change is not None:
            pending.append((transaction, change))


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: TrackedSession) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; its changes wait for the outermost commit
    pending, session._tidal_pending = session._tidal_pending, None
    if pending:
        committed = session._tidal_committed
        if committed is None:
            committed = session._tidal_committed = []
        committed.extend(change for _, change in pending)


@event.listens_for(TrackedSession, "after_soft_rollback")
def _after_rollback(session: TrackedSession, previous: SessionTransaction) -> None:
    pending = session._tidal_pending
    if not pending:
        return
    if previous.parent is None:
        session._tidal_pending = None
        return
    session._tidal_pending = [
        (transaction, change)
        for transaction, change in pending
        if not _within(transaction, previous)
    ]


@event.listens_for(TrackedSession, "after_transaction_end")
def _after_transaction_end(session: TrackedSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session._tidal_pending = None  # whatever was not committed by now never will be


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def merge(changes: Iterable[Change]) -> list[Change]:
    """One change per row, in the order rows were first changed: insert + update is an
    insert with the final values, insert + delete is nothing, update + update one update
    with the union of the changed attributes, update + delete a delete."""
    merged: dict[Any, Change | None] = {}
    for change in changes:
        key: Any = (change.model, change.pk) if all(v is not None for v in change.pk) else object()
        before = merged.get(key)
        if before is None:
            merged[key] = change
        elif change.action == "delete":
            merged[key] = None if before.action == "insert" else change
        elif change.action == "update" and before.action in ("insert", "update"):
            values = {**before.values, **change.values}
            if before.action == "insert":
                merged[key] = dataclasses.replace(before, values=values, changed=frozenset(values))
            else:
                merged[key] = dataclasses.replace(
                    before,
                    values=values,
                    changed=before.changed | change.changed,
                    previous={**change.previous, **before.previous},
                )
        else:
            merged[object()] = change
    return [change for change in merged.values() if change is not None]


__all__ = [
    "Action",
    "Change",
    "Listener",
    "Registration",
    "TrackedSession",
    "change_for",
    "deliver",
    "merge",
    "off_commit",
    "on_commit",
]
