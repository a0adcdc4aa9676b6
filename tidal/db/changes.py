"""After-commit change capture: which rows a transaction inserted, updated and deleted,
handed to listeners once the commit has succeeded, and never for rolled-back work.

Real-time broadcasts and cache invalidation build on this::

    @tidal.db.on_commit
    async def publish(changes: Sequence[Change]) -> None:
        for change in changes:
            ...  # change.action, change.model, change.pk, change.values, change.changed

What is captured, in the transaction that makes the change:

* every flush of the unit of work (``db.add``, attribute and many-to-many collection
  changes, ``db.delete``);
* ORM ``UPDATE`` and ``DELETE`` statements run through a session:
  ``await db.execute(update(Card).where(...).values(...))`` (any ``synchronize_session``),
  ``delete(Card).where(...)``, and the ORM's bulk UPDATE by primary key
  ``db.execute(update(Card), [{"id": 1, ...}, ...])``. The affected rows are read with
  RETURNING where the database has it (PostgreSQL, SQLite >= 3.35), else selected (and
  locked) before the statement and read again after it;
* ``bulk_insert`` and ``bulk_update`` of ``tidal.db``, and what ``record`` is given.

Not captured: statements on a Core ``Table`` (``update(card_table)``, association tables),
``INSERT`` statements other than ``bulk_insert``, and anything run on a ``Connection``.
Call ``record`` for those.

How it works: each captured change is kept with the transaction (or SAVEPOINT) it belongs
to. A SAVEPOINT rolled back drops its records; the outermost commit moves the rest to a
"committed" list that ``Session.commit`` hands to the listeners, merged per row. Hooks
registered with ``on_write`` see the changes at once, inside the transaction, so what they
write commits or rolls back with them (the real-time outbox is one).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Connection, event, select, tuple_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.orm.exc import UnmappedColumnError
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
        changed: for updates, the attributes that changed (including many-to-many
            collections whose members changed); for inserts, all of ``values``.
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
Callback = Callable[[], Awaitable[None] | None]
WriteHook = Callable[["TrackedSession", Sequence[Change]], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Registration:
    listener: Callable[..., Any]
    models: tuple[type, ...] = ()

    def select(self, changes: Sequence[Change]) -> Sequence[Change]:
        if not self.models:
            return changes
        return [c for c in changes if issubclass(c.model, self.models)]


@dataclasses.dataclass(frozen=True, slots=True)
class Writer:
    """A hook called inside the transaction (see ``on_write``)."""

    hook: WriteHook
    previous: Callable[[type[Any]], Collection[str]] | None = None


_listeners: list[Registration] = []
_writers: list[Writer] = []


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


def on_write(
    hook: WriteHook, *, previous: Callable[[type[Any]], Collection[str]] | None = None
) -> WriteHook:
    """Call ``hook(session, changes)`` each time changes are captured, inside their
    transaction (after a flush, an UPDATE or DELETE statement, a bulk helper), so that
    what it writes with ``session.connection().execute(...)`` commits or rolls back with
    them. ``session`` is the synchronous ``TrackedSession``; the hook must not await.

    ``previous(model)`` names the attributes whose former values the hook needs when an
    UPDATE statement sets them (the outbox: the columns its topics are made of); each
    such statement then costs one ``SELECT ... FOR UPDATE`` of those columns first.
    """
    _writers.append(Writer(hook, previous))
    return hook


def off_write(hook: WriteHook) -> None:
    """Stop calling ``hook`` (registered with ``on_write``)."""
    _writers[:] = [w for w in _writers if w.hook is not hook]


async def _call(function: Callable[..., Any], *args: Any) -> None:
    result = function(*args)
    if inspect.isawaitable(result):
        await result


async def deliver(changes: Sequence[Change], registrations: Iterable[Registration]) -> None:
    """Hand ``changes`` to each registration, in order, then run the ``after_commit``
    callbacks they carry; errors are logged, not raised."""
    rows = list(changes)
    if rows:
        for registration in (*_listeners, *registrations):
            selected = registration.select(rows)
            if not selected:
                continue
            try:
                await _call(registration.listener, selected)
            except Exception:
                logger.exception(
                    "Commit listener %r failed (the transaction is committed)",
                    registration.listener,
                )
    for callback in changes.callbacks if isinstance(changes, Committed) else ():
        try:
            await _call(callback)
        except Exception:
            logger.exception(
                "After-commit callback %r failed (the transaction is committed)", callback
            )


async def after_commit(db: AsyncSession | Session, callback: Callback) -> None:
    """Run ``callback()`` (sync or async) after the transaction ``db`` is in commits, and
    never if it rolls back (a rolled-back SAVEPOINT drops it too), like Django's
    ``transaction.on_commit``: for effects that must not happen for undone work, such as
    closing a user's sockets after a password change. Outside a Tidal session there is no
    commit to wait for: the callback runs at once."""
    sync = db.sync_session if isinstance(db, AsyncSession) else db
    if not isinstance(sync, TrackedSession):
        await _call(callback)
        return
    transaction = sync.get_nested_transaction() or sync.get_transaction() or sync.begin()
    if sync._tidal_callbacks is None:
        sync._tidal_callbacks = []
    sync._tidal_callbacks.append((transaction, callback))


async def record(db: AsyncSession, changes: Iterable[Change]) -> None:
    """Capture rows changed behind the session's back (a statement on a Core ``Table``,
    raw SQL) as if it had changed them: commit listeners receive them after the commit,
    and write hooks (the real-time outbox) run now, in the transaction."""
    items = list(changes)
    sync = db.sync_session
    if items and isinstance(sync, TrackedSession):
        await db.run_sync(lambda _: sync.record(items))


class Committed(list[Change]):
    """What a commit leaves to deliver: its changes, then the ``after_commit`` callbacks.
    True while either is left, so a commit that changed no row still runs its callbacks
    (``Session.commit`` delivers when this is true)."""

    def __init__(self, changes: Iterable[Change] = (), callbacks: Iterable[Callback] = ()):
        super().__init__(changes)
        self.callbacks: list[Callback] = list(callbacks)

    def __bool__(self) -> bool:
        return len(self) > 0 or bool(self.callbacks)


# -- recording ---------------------------------------------------------------------------


class TrackedSession(Session):
    """The synchronous session under ``tidal.db.Session``: it records what each flush and
    statement wrote, for delivery after the outermost commit."""

    _tidal_pending: list[tuple[SessionTransaction, Change]] | None = None
    _tidal_callbacks: list[tuple[SessionTransaction, Callback]] | None = None
    _tidal_committed: Committed | None = None

    def take_committed(self) -> Committed:
        """The committed changes not yet delivered, merged per row, and the callbacks to
        run after them; clears them."""
        committed, self._tidal_committed = self._tidal_committed, None
        if not committed:
            return Committed()
        return Committed(merge(committed), committed.callbacks)

    def record(self, changes: Iterable[Change]) -> None:
        """Capture changes made outside the unit of work in the current transaction, and
        run the write hooks. The hooks may execute statements, so call it where the session
        may: inside a flush or statement event, or through ``record(db, changes)``."""
        items = list(changes)
        if not items:
            return
        transaction = self.get_nested_transaction() or self.get_transaction() or self.begin()
        if self._tidal_pending is None:
            self._tidal_pending = []
        self._tidal_pending.extend((transaction, change) for change in items)
        for writer in list(_writers):
            writer.hook(self, items)


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """What change capture needs to know of a mapper, computed once."""

    pk: tuple[str, ...]  # primary key attribute names
    columns: tuple[str, ...]  # column attribute names
    on_update: frozenset[str]  # columns an ``onupdate`` fills when the row is updated
    collections: tuple[str, ...]  # many-to-many relationships (through a secondary table)
    table_columns: tuple[tuple[str, Column[Any]], ...]  # (attribute, column) of the table


_shapes: dict[Mapper[Any], Shape] = {}


def shape(mapper: Mapper[Any]) -> Shape:
    found = _shapes.get(mapper)
    if found is None:
        table = mapper.local_table
        found = _shapes[mapper] = Shape(
            pk=tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key),
            columns=tuple(p.key for p in mapper.column_attrs),
            on_update=frozenset(
                p.key
                for p in mapper.column_attrs
                if any(getattr(c, "onupdate", None) is not None for c in p.columns)
            ),
            collections=tuple(r.key for r in mapper.relationships if r.secondary is not None),
            table_columns=tuple(
                (p.key, c)
                for p in mapper.column_attrs
                for c in p.columns[:1]
                if isinstance(c, Column) and c.table is table
            ),
        )
    return found


def _snapshot(state: InstanceState[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    found = shape(state.mapper)
    loaded = state.dict
    values = {key: loaded[key] for key in found.columns if key in loaded}
    return tuple(loaded.get(key) for key in found.pk), values


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
    found = shape(state.mapper)
    for key in found.columns:
        history = attrs[key].history
        if history.added:
            changed.add(key)
            if history.deleted:
                previous[key] = history.deleted[0]
    if changed:
        changed.update(key for key in found.on_update if key in values)
    for key in found.collections:  # (no column of this row changes: no onupdate either)
        history = attrs[key].history
        if history.added or history.deleted:
            changed.add(key)
    if not changed:
        return None
    if previous:
        # Keys changed by this flush carry their old value in the primary key, not the new.
        pk = tuple(previous.get(key, value) for key, value in zip(found.pk, pk, strict=True))
    return Change("update", state.class_, pk, values, frozenset(changed), previous)


@event.listens_for(TrackedSession, "after_flush")
def _after_flush(session: TrackedSession, context: UOWTransaction) -> None:
    flushed: list[Change] = []
    for action, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            change = change_for(action, obj)  # type: ignore[arg-type]
            if change is not None:
                flushed.append(change)
    session.record(flushed)


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: TrackedSession) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; its changes wait for the outermost commit
    pending, session._tidal_pending = session._tidal_pending, None
    callbacks, session._tidal_callbacks = session._tidal_callbacks, None
    if pending or callbacks:
        if session._tidal_committed is None:
            session._tidal_committed = Committed()
        session._tidal_committed.extend(change for _, change in pending or ())
        session._tidal_committed.callbacks.extend(callback for _, callback in callbacks or ())


@event.listens_for(TrackedSession, "after_soft_rollback")
def _after_rollback(session: TrackedSession, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session._tidal_pending = session._tidal_callbacks = None
        return
    if session._tidal_pending:
        session._tidal_pending = [
            (t, change) for t, change in session._tidal_pending if not _within(t, previous)
        ]
    if session._tidal_callbacks:
        session._tidal_callbacks = [
            (t, callback) for t, callback in session._tidal_callbacks if not _within(t, previous)
        ]


@event.listens_for(TrackedSession, "after_transaction_end")
def _after_transaction_end(session: TrackedSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        # Whatever was not committed by now never will be.
        session._tidal_pending = session._tidal_callbacks = None


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


# -- UPDATE and DELETE statements ------------------------------------------------------

_CHUNK = 500  # primary keys per ``IN (...)``: far below the bind limits of both databases


@event.listens_for(TrackedSession, "do_orm_execute")
def _capture_statement(state: ORMExecuteState) -> Any:
    """ORM UPDATE and DELETE statements change rows the unit of work never sees: find out
    which, around the statement, and record them."""
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    session = state.session
    if mapper is None or not isinstance(session, TrackedSession):
        return None  # a statement on a Core Table: not captured
    found = shape(mapper)
    if not set(found.pk) <= {name for name, _ in found.table_columns}:
        return None  # a subclass whose primary key is in another table: not captured
    params = state.parameters
    if isinstance(params, list | tuple) and params:
        if not state.is_update or state.execution_options.get("dml_strategy") == "core_only":
            return None  # an executemany the ORM passes to Core as it is
        return _capture_bulk_update(state, session, mapper, params)
    return _capture_where(state, session, mapper)


def _wanted_previous(model: type[Any]) -> frozenset[str]:
    wanted: set[str] = set()
    for writer in list(_writers):
        if writer.previous is not None:
            wanted.update(writer.previous(model))
    return frozenset(wanted)


def _attribute(mapper: Mapper[Any], found: Shape, key: Any) -> str | None:
    """The column attribute an UPDATE's SET key names (a column, or a parameter name)."""
    if isinstance(key, str):
        if key in found.columns:
            return key
        key = mapper.local_table.c.get(key)
    if not isinstance(key, ColumnElement):
        return None
    try:
        return str(mapper.get_property_by_column(key).key)
    except UnmappedColumnError:
        return None


def _set_keys(mapper: Mapper[Any], found: Shape, state: ORMExecuteState) -> frozenset[str]:
    """The attributes an UPDATE statement sets: its ``values()`` and a parameter dict."""
    keys: list[Any] = list(getattr(state.statement, "_values", None) or ())
    if isinstance(state.parameters, Mapping):
        keys.extend(state.parameters)
    names = (_attribute(mapper, found, key) for key in keys)
    return frozenset(name for name in names if name is not None)


def _fetch(
    connection: Connection,
    found: Shape,
    attributes: Iterable[str],
    where: ColumnElement[bool] | None,
    *,
    lock: bool = False,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """``{pk: {attribute: value}}`` of the rows ``where`` matches, locked if asked."""
    by_key = dict(found.table_columns)
    wanted = [name for name in dict.fromkeys((*found.pk, *attributes)) if name in by_key]
    query = select(*(by_key[name] for name in wanted))
    if where is not None:
        query = query.where(where)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in connection.execute(query):
        values = dict(zip(wanted, row, strict=True))
        rows[tuple(values[key] for key in found.pk)] = values
    return rows


def _fetch_keys(
    connection: Connection,
    found: Shape,
    keys: Sequence[tuple[Any, ...]],
    attributes: Iterable[str],
    where: ColumnElement[bool] | None = None,
    *,
    lock: bool = False,
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """``_fetch`` of the rows with these primary keys, a chunk at a time."""
    by_key = dict(found.table_columns)
    pk_columns = [by_key[name] for name in found.pk]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        criterion: ColumnElement[bool]
        if len(pk_columns) == 1:
            criterion = pk_columns[0].in_([key[0] for key in chunk])
        else:
            criterion = tuple_(*pk_columns).in_(chunk)
        if where is not None:
            criterion = criterion & where
        rows.update(_fetch(connection, found, attributes, criterion, lock=lock))
    return rows


def _capture_where(state: ORMExecuteState, session: TrackedSession, mapper: Mapper[Any]) -> Any:
    """``update(Card).where(...)`` / ``delete(Card).where(...)``: RETURNING tells which
    rows changed and their values; without it (or when the statement has its own
    RETURNING) the rows are selected and locked first, and read again after an UPDATE."""
    found = shape(mapper)
    statement: Any = state.statement
    is_update = state.is_update
    connection = session.connection(bind_arguments=state.bind_arguments)
    dialect = connection.dialect
    where = statement.whereclause
    set_keys = _set_keys(mapper, found, state) if is_update else frozenset()
    wanted = set_keys & _wanted_previous(mapper.class_)
    supported = dialect.update_returning if is_update else dialect.delete_returning
    if supported and not getattr(statement, "_returning", ()):
        previous = _fetch(connection, found, wanted, where, lock=True) if wanted else {}
        columns = [column for _, column in found.table_columns]
        reading = statement.return_defaults(*mapper.primary_key, supplemental_cols=columns)
        result = state.invoke_statement(statement=reading)
        returned = getattr(result, "returned_defaults_rows", None) or ()
        rows = [{name: row._mapping[c] for name, c in found.table_columns} for row in returned]
    else:
        before = _fetch(connection, found, found.columns, where, lock=True)
        result = state.invoke_statement()
        if is_update:
            rows = list(_fetch_keys(connection, found, list(before), found.columns).values())
        else:
            rows = list(before.values())
        previous = before
    model = mapper.class_
    changes: list[Change] = []
    for values in rows:
        pk = tuple(values[key] for key in found.pk)
        if not is_update:
            changes.append(Change("delete", model, pk, values))
            continue
        old = {key: value for key, value in previous.get(pk, {}).items() if key in set_keys}
        changed = set_keys | {key for key in found.on_update if key in values}
        changes.append(Change("update", model, pk, values, frozenset(changed), old))
    session.record(changes)
    return result


def _capture_bulk_update(
    state: ORMExecuteState,
    session: TrackedSession,
    mapper: Mapper[Any],
    params: Sequence[Mapping[str, Any]],
) -> Any:
    """The ORM's bulk UPDATE by primary key (``db.execute(update(Card), rows)``): an
    executemany, so no RETURNING; the rows are read back by primary key after it (and the
    former values a write hook needs, locked, before it)."""
    found = shape(mapper)
    try:
        keys = [tuple(row[key] for key in found.pk) for row in params]
    except KeyError:
        return None  # SQLAlchemy says which primary key is missing
    changed = {
        key: frozenset(k for k in row if k in found.columns and k not in found.pk)
        for key, row in zip(keys, params, strict=True)
    }
    wanted = frozenset().union(*changed.values()) & _wanted_previous(mapper.class_)
    connection = session.connection(bind_arguments=state.bind_arguments)
    previous = _fetch_keys(connection, found, keys, wanted, lock=True) if wanted else {}
    result = state.invoke_statement()
    where = getattr(state.statement, "whereclause", None)
    after = _fetch_keys(connection, found, list(changed), found.columns, where)
    changes: list[Change] = []
    for key, set_keys in changed.items():
        values = after.get(key)
        if values is None:
            continue  # no such row (or the statement's WHERE excluded it)
        old = {k: v for k, v in previous.get(key, {}).items() if k in set_keys}
        keys_changed = set_keys | {k for k in found.on_update if k in values}
        changes.append(Change("update", mapper.class_, key, values, keys_changed, old))
    session.record(changes)
    return result


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
    "Callback",
    "Change",
    "Committed",
    "Listener",
    "Registration",
    "Shape",
    "TrackedSession",
    "WriteHook",
    "Writer",
    "after_commit",
    "change_for",
    "deliver",
    "merge",
    "off_commit",
    "off_write",
    "on_commit",
    "on_write",
    "record",
    "shape",
]
