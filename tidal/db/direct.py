"""Direct reads: ``await db.get(Model, pk)`` on PostgreSQL without SQLAlchemy's execution
machinery, for the common case where that machinery has nothing to add.

Through the ORM a primary-key get that misses the identity map costs a greenlet switch,
a Session transaction, a pooled ``Connection`` and its root transaction, the compiled-cache
lookup, an ORM compile state, a ``Result`` and the generic row loader: several hundred
microseconds of Python around a query asyncpg answers in fifty. A request made of such reads
(a detail page, an API lookup) spends most of its time there. Here the same read is:

* a ``SELECT`` of the mapper's columns by primary key, compiled once per model by
  SQLAlchemy for this dialect, sent with asyncpg's own prepared-statement cache;
* on a pooled connection checked out of the engine's pool (the same pool, the same limit)
  and held by the session for its later reads, returned before SQLAlchemy takes a
  connection of its own, and at the end of the request;
* the row turned into an object the way SQLAlchemy's loader does it for a plain mapper:
  result processors of the column types applied, the instance created without
  ``__init__``, its loaded state set and added to the session's identity map, so what
  comes back is an ordinary persistent object (changes to it flush as usual).

It is taken only when nothing it skips could matter, and the ordinary path runs otherwise:

* the database is PostgreSQL through asyncpg with lazy ``BEGIN`` on (the default), so a
  read before the first write runs outside a transaction either way; the session has no
  transaction open (nothing was written or executed through SQLAlchemy yet) and no pending
  changes an autoflush would send first;
* ``get`` is called without options, ``populate_existing``, ``with_for_update``,
  ``identity_token`` or execution options; the session is bound to the application's
  engine only;
* the mapper is a plain table: no inheritance, every column attribute one column of the
  table and not deferred, no relationship loaded eagerly (lazy ``select``/``raise`` load
  on access as usual), ``always_refresh`` off;
* no ``load`` or ``loaded_as_persistent`` listener, no ``do_orm_execute`` listener other
  than Tidal's own (which ignore SELECTs), no statement listener on the engine other than
  Tidal's own, no SQL logging (``echo``) and no engine execution options.

A failure on the direct path (a dropped connection, a value asyncpg refuses) returns the
connection (discarded if it is broken) and runs the read again the ordinary way, so errors
are SQLAlchemy's, translated to HTTP answers as always.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.event import registry as _registry
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapper, configure_mappers
from sqlalchemy.orm.base import instance_state
from sqlalchemy.pool import PoolProxiedConnection

from tidal.db.pool import FairQueue

if TYPE_CHECKING:
    from tidal.db.sessions import Session

logger = logging.getLogger("tidal.db")

#: What ``DirectReads.get`` returns when it did not read: the caller takes the usual path.
MISS: Any = object()

_LAZY = frozenset({"select", True, "raise", "raise_on_sql"})
# Engine events a direct read would skip, or that taking over its connection would run
# (they must be Tidal's own: snapshotted when the engine is made).
_ENGINE_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
    "engine_connect",
    "begin",
)
# The pool's: the reader is returned without a greenlet when only Tidal listens.
_POOL_EVENTS = ("checkin", "reset")

Processor = Callable[[Any], Any] | None


def _listener_count() -> object:
    """How many listeners SQLAlchemy has registered, all targets together: a cheap sign
    that one was added or removed (a fresh object, never equal, if its registry moved)."""
    keys = getattr(_registry, "_key_to_collection", None)
    return len(keys) if keys is not None else object()


def _tidal_only(listeners: Any) -> bool:
    """Whether every listener of an event collection is one of Tidal's own."""
    return all(getattr(fn, "__module__", "").startswith("tidal.") for fn in listeners)


@dataclass(slots=True)
class GetPlan:
    """How to read one model by primary key, prepared once per model."""

    mapper: Mapper[Any]
    sql: str
    keys: tuple[str, ...]  # attribute keys, in the SELECT's column order
    columns: tuple[Any, ...]  # the Column objects, in the same order
    binds: tuple[Processor, ...] | None  # bind processors of the key (None: none has one)
    pk_size: int
    processors: tuple[Processor, ...] | None = None  # learnt from the first statement
    converts: bool = True  # whether any result processor is not None

    def identity(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        return (self.mapper._identity_class, values, None)


def _plain(mapper: Mapper[Any]) -> bool:
    """Whether loading ``mapper`` from a row is only setting its column attributes."""
    if (
        mapper.inherits is not None
        or mapper._inheriting_mappers
        or mapper.polymorphic_on is not None
        or mapper.always_refresh
        or mapper.local_table is not mapper.persist_selectable
        or not hasattr(mapper.local_table, "c")
    ):
        return False
    table = mapper.local_table
    for prop in mapper.column_attrs:
        if prop.deferred or len(prop.columns) != 1:
            return False
        if getattr(prop.columns[0], "table", None) is not table:
            return False  # a column_property of an expression
    return all(rel.lazy in _LAZY for rel in mapper.relationships)


def build_plan(mapper: Mapper[Any], engine: Engine) -> GetPlan | None:
    """The plan for ``mapper``, or ``None`` when it must be loaded the ordinary way."""
    configure_mappers()
    if not _plain(mapper):
        return None
    dialect = engine.dialect
    props = list(mapper.column_attrs)
    columns = tuple(prop.columns[0] for prop in props)
    names = [f"pk_{i}" for i in range(len(mapper.primary_key))]
    criteria = (c == bindparam(n) for c, n in zip(mapper.primary_key, names, strict=True))
    compiled = select(*columns).where(*criteria).compile(dialect=dialect)
    if list(compiled.positiontup or ()) != names:
        return None  # a dialect that renders parameters otherwise: not worth guessing
    binds = tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in mapper.primary_key)
    return GetPlan(
        mapper=mapper,
        sql=compiled.string,
        keys=tuple(prop.key for prop in props),
        columns=columns,
        binds=binds if any(binds) else None,
        pk_size=len(names),
    )


class DirectReads:
    """The direct read path of one ``Database`` (PostgreSQL + asyncpg, lazy BEGIN)."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Made right after Tidal configured ``engine``: the listeners it has now are
        Tidal's own (SQLAlchemy wraps some, so they are told apart this way)."""
        self.engine = engine
        self.sync_engine = engine.sync_engine
        self.pool: Any = self.sync_engine.pool
        self.plans: dict[type[Any], GetPlan | None] = {}
        self.own_listeners = self._engine_listeners()
        self.own_pool = self._pool_listeners()
        self.checked: dict[Mapper[Any], tuple[object, bool]] = {}
        self.pool_checked: tuple[object, bool] | None = None

    def _engine_listeners(self) -> tuple[tuple[Any, ...], ...]:
        dispatch = self.sync_engine.dispatch
        return tuple(tuple(getattr(dispatch, name)) for name in _ENGINE_EVENTS)

    def _pool_listeners(self) -> tuple[tuple[Any, ...], ...]:
        dispatch = self.pool.dispatch
        return tuple(tuple(getattr(dispatch, name)) for name in _POOL_EVENTS)

    def plan(self, model: type[Any]) -> GetPlan | None:
        try:
            return self.plans[model]
        except KeyError:
            mapper = getattr(model, "__mapper__", None)
            found = build_plan(mapper, self.sync_engine) if isinstance(mapper, Mapper) else None
            self.plans[model] = found
            return found

    def usable(self, sync: Any, mapper: Mapper[Any]) -> bool:
        """Whether nothing is configured that the direct path would skip: listeners,
        SQL logging, execution options, other binds."""
        engine = self.sync_engine
        if sync.bind is not engine or sync.binds or sync.execution_options:
            return False
        if engine._should_log_info() or engine.get_execution_options():
            return False
        # Listeners are looked at again only when one was added or removed anywhere.
        version = (_listener_count(), type(sync))
        cached = self.checked.get(mapper)
        if cached is None or cached[0] != version:
            allowed = (
                self._engine_listeners() == self.own_listeners
                and not sync.dispatch.loaded_as_persistent
                and _tidal_only(sync.dispatch.do_orm_execute)
                and _tidal_only(sync.dispatch.after_begin)
                and not mapper.class_manager.dispatch.load
            )
            cached = self.checked[mapper] = (version, allowed)
        return cached[1]

    async def get(self, session: Session, model: Any, ident: Any) -> Any:
        """``session.get(model, ident)`` read directly, or ``MISS``."""
        sync = session.sync_session
        if sync._transaction is not None or sync._tidal_reading:
            return MISS  # SQLAlchemy holds the connection, or a read is in flight
        if sync.autoflush and (sync._new or sync._deleted or sync.identity_map.check_modified()):
            return MISS  # an autoflush comes first
        plan = self.plans.get(model, MISS)
        if plan is MISS:
            plan = self.plan(model)
        if plan is None or not self.usable(sync, plan.mapper):
            return MISS
        values = ident if type(ident) is tuple else (ident,)
        if len(values) != plan.pk_size or None in values:
            return MISS  # SQLAlchemy says what is wrong
        key = (plan.mapper._identity_class, values, None)
        found = sync.identity_map.get(key)
        if found is not None:
            state = instance_state(found)
            if state.expired or state.deleted:
                return MISS  # refreshed, or reported gone, by SQLAlchemy
            return found
        if plan.binds is not None:
            values = tuple(
                v if b is None else b(v) for v, b in zip(values, plan.binds, strict=True)
            )
        reader = sync._tidal_reader
        if reader is None:
            # Errors here (a full pool, an unreachable database) are the ORM's own.
            reader = sync._tidal_reader = await self.checkout()
        sync._tidal_reading = True
        try:
            connection: Any = reader.driver_connection
            if plan.processors is None:
                attributes = (await connection.prepare(plan.sql)).get_attributes()
                self._learn(plan, [attribute.type.oid for attribute in attributes])
            row = await connection.fetchrow(plan.sql, *values)
        except Exception as exc:
            logger.debug("Direct read failed; reading through the ORM", exc_info=True)
            sync._tidal_reading = False
            await session.release_reader(broken=_breaks(exc, reader))
            return MISS
        except BaseException:
            session.forget_reader()  # cancelled mid-read: the connection is not reusable
            raise
        sync._tidal_reading = False
        if sync._tidal_release_pending or sync._transaction is not None:
            await session.release_reader()  # asked for meanwhile (a concurrent use)
        if row is None:
            return None
        return self._load(sync, plan, key, row)

    def _learn(self, plan: GetPlan, oids: list[int]) -> None:
        """The result processors of the columns, for the types PostgreSQL reports."""
        dialect = self.sync_engine.dialect
        processors = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, oid)
            for column, oid in zip(plan.columns, oids, strict=True)
        )
        plan.converts = any(processors)
        plan.processors = processors

    @staticmethod
    def _load(sync: Any, plan: GetPlan, key: Any, row: Any) -> Any:
        """The persistent object for ``row``, as the ORM's loader makes a new one: the
        instance made without ``__init__``, its attributes set as loaded, its identity
        key set, and added to the identity map (``expire_on_commit`` and lazy loads
        behave as for any loaded object)."""
        identity_map = sync.identity_map
        found = identity_map.get(key)
        if found is not None:  # loaded meanwhile (a concurrent use): the identity map wins
            return found
        obj = plan.mapper.class_manager.new_instance()
        state = instance_state(obj)
        if plan.converts:
            assert plan.processors is not None
            state.dict.update(
                (name, value if process is None else process(value))
                for name, process, value in zip(plan.keys, plan.processors, row, strict=True)
            )
        else:
            state.dict.update(zip(plan.keys, row, strict=True))
        state.key = key
        state.session_id = sync.hash_key
        identity_map.add(state)
        return obj

    async def checkout(self) -> PoolProxiedConnection:
        """A connection from the engine's pool: an idle, open one is taken without the cost
        of a greenlet (no I/O is needed for it); waiting for one, or opening one, is done
        the usual way."""
        queue = getattr(self.pool, "_pool", None)
        record = queue.peek() if isinstance(queue, FairQueue) else None
        if record is not None and self._ready(record):
            return self.sync_engine.raw_connection()
        return await self.engine.raw_connection()

    def _ready(self, record: Any) -> bool:
        """Whether checking ``record`` out does no I/O: its connection is open and not due
        to be replaced, and nothing pings or listens at check-out. (These are the pool's
        internals, read only to skip a greenlet; any doubt takes the usual way.)"""
        pool = self.pool
        return (
            getattr(pool, "_recycle", 0) < 0
            and not getattr(pool, "_pre_ping", True)
            and not pool.dispatch.checkout
            and not record._is_hard_or_soft_invalidated()
        )

    def returns_quietly(self) -> bool:
        """Whether returning a connection to the pool does no I/O, so needs no greenlet:
        no overflow connection exists (the pool's queue has room, nothing is closed) and
        only Tidal listens to check-ins (the reset is asyncpg's no-op rollback)."""
        overflow = getattr(self.pool, "overflow", None)
        if overflow is None or overflow() > 0:
            return False
        version = _listener_count()
        if self.pool_checked is None or self.pool_checked[0] != version:
            self.pool_checked = (version, self._pool_listeners() == self.own_pool)
        return self.pool_checked[1]


def _breaks(exc: Exception, reader: PoolProxiedConnection) -> bool:
    """Whether the connection is unusable after ``exc``: an error PostgreSQL reported
    (a statement timeout, a missing table) or a value asyncpg could not send leaves it
    usable; anything else (a dropped connection) may not."""
    from asyncpg import PostgresError  # type: ignore[import-untyped]

    connection: Any = reader.driver_connection
    if connection is None or connection.is_closed():
        return True
    return not isinstance(exc, PostgresError | ValueError | TypeError)


__all__ = ["MISS", "DirectReads", "GetPlan", "build_plan"]
