"""``Session``: the ``AsyncSession`` handlers declare, which delivers captured changes to
the commit listeners after each successful commit, and reads rows by primary key directly
on PostgreSQL when nothing would be lost by it (see ``tidal.db.direct``).

In a request, ``db: Session`` is opened for the handler, committed when it returns and
rolled back if it raises (see ``Database.provide_session``). Elsewhere, use
``async with tidal.db.session() as db:``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, util
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util.concurrency import greenlet_spawn

from tidal.db.changes import TrackedSession, deliver
from tidal.db.lifecycle import RequestSession

if TYPE_CHECKING:
    from sqlalchemy.orm._typing import OrmExecuteOptionsParameter
    from sqlalchemy.orm.interfaces import ORMOption
    from sqlalchemy.sql.selectable import ForUpdateParameter

    from tidal.db.direct import DirectReads
    from tidal.db.lifecycle import Database


class SyncSession(TrackedSession):
    """The synchronous session under ``Session``: change capture, plus the pooled
    connection direct reads hold between them (the *reader*)."""

    _tidal_reader: PoolProxiedConnection | None = None
    _tidal_reading = False  # a direct read is using the reader right now
    _tidal_release_pending = False  # give the reader back when that read ends

    def release_reader(self, *, broken: bool = False) -> None:
        """Return the reader to the pool (discard it if ``broken``). Call it where I/O is
        allowed (inside ``greenlet_spawn``): returning may close an overflow connection."""
        reader = self._tidal_reader
        if reader is None:
            return
        if self._tidal_reading:
            self._tidal_release_pending = True  # the read in flight returns it
            return
        self._tidal_reader = None
        self._tidal_release_pending = False
        if broken:
            reader.invalidate()
        else:
            reader.close()

    def adopt_reader(self, transaction: SessionTransaction) -> None:
        """Make the reader the connection of ``transaction`` (a new root transaction):
        what SQLAlchemy does next in this session runs on it, so a request never holds
        two connections (it could deadlock the pool) nor queues twice for one. No I/O:
        asyncpg's BEGIN waits for the first statement."""
        reader = self._tidal_reader
        if reader is None or self._tidal_reading:
            return  # a read in flight: it gives the reader back when it ends
        self._tidal_reader = None
        engine = self.get_bind()
        if not isinstance(engine, Engine) or not reader.is_valid:
            reader.close()
            return
        handover: Any = _Handover(engine, reader)  # stands for the engine: see below
        transaction._connection_for_bind(handover, None)

    def close(self) -> None:
        self.release_reader()
        super().close()

    def reset(self) -> None:
        self.release_reader()
        super().reset()

    def invalidate(self) -> None:
        self.release_reader(broken=True)
        super().invalidate()


@event.listens_for(SyncSession, "after_transaction_create")
def _adopt(session: SyncSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None and session._tidal_reader is not None:
        session.adopt_reader(transaction)


class _Handover:
    """Stands for ``engine`` once: its ``connect()`` wraps the reader instead of checking
    out another connection (SQLAlchemy closes it, returning it to the pool, as usual)."""

    __slots__ = ("engine", "reader")

    def __init__(self, engine: Engine, reader: PoolProxiedConnection) -> None:
        self.engine = engine
        self.reader = reader

    def connect(self) -> Connection:
        return Connection(self.engine, connection=self.reader)


class Session(AsyncSession, RequestSession):
    """An ``AsyncSession`` bound to a Tidal database.

    Everything ``AsyncSession`` does works; in addition, after each successful commit the
    inserted, updated and deleted rows are handed to the ``on_commit`` listeners, and on
    PostgreSQL ``get`` reads a row it does not have yet straight through asyncpg when
    SQLAlchemy's execution machinery would add nothing to it.
    """

    sync_session_class = SyncSession
    sync_session: SyncSession

    def __init__(self, bind: Any = None, *, database: Database | None = None, **kw: Any) -> None:
        super().__init__(bind, **kw)
        self.database = database
        self._direct: DirectReads | None = database.direct if database is not None else None

    async def get(
        self,
        entity: Any,
        ident: Any,
        *,
        options: Sequence[ORMOption] | None = None,
        populate_existing: bool | None = None,
        with_for_update: ForUpdateParameter = None,
        identity_token: Any | None = None,
        execution_options: OrmExecuteOptionsParameter = util.EMPTY_DICT,
    ) -> Any:
        direct = self._direct
        if (
            direct is not None
            and options is None
            and not populate_existing
            and with_for_update is None
            and identity_token is None
            and not execution_options
        ):
            from tidal.db.direct import MISS

            found = await direct.get(self, entity, ident)
            if found is not MISS:
                return found
        return await super().get(
            entity,
            ident,
            options=options,
            populate_existing=populate_existing,
            with_for_update=with_for_update,
            identity_token=identity_token,
            execution_options=execution_options,
        )

    def needs_commit(self) -> bool:
        """Whether committing would do anything: a transaction is open, or objects were
        added, changed or deleted (objects read directly change outside one)."""
        sync = self.sync_session
        return (
            sync._transaction is not None
            or sync.identity_map.check_modified()
            or bool(sync._new)
            or bool(sync._deleted)
        )

    async def release_reader(self, *, broken: bool = False) -> None:
        """Give the direct reads' connection back to the pool, if one is held."""
        sync = self.sync_session
        if sync._tidal_reader is None:
            return
        direct = self._direct
        if not broken and direct is not None and direct.returns_quietly():
            sync.release_reader()
        else:
            await greenlet_spawn(sync.release_reader, broken=broken)

    def forget_reader(self) -> None:
        """Discard the reader without waiting (a read was cancelled mid-way): the
        connection is closed, not returned half-used."""
        sync = self.sync_session
        reader, sync._tidal_reader = sync._tidal_reader, None
        sync._tidal_reading = sync._tidal_release_pending = False
        if reader is not None:
            reader.invalidate()

    async def commit(self) -> None:
        await super().commit()
        if self.sync_session._tidal_committed:
            await self.deliver_changes()

    async def close(self) -> None:
        await super().close()
        if self.sync_session._tidal_committed:
            await self.deliver_changes()

    def begin(self) -> AsyncSessionTransaction:
        return _Transaction(self)

    def begin_nested(self) -> AsyncSessionTransaction:
        return _Transaction(self, nested=True)

    async def deliver_changes(self) -> None:
        """Hand the committed, not yet delivered changes to the listeners."""
        changes = self.sync_session.take_committed()
        if changes:
            database = self.database
            await deliver(changes, database.listeners if database is not None else ())


class _Transaction(AsyncSessionTransaction):
    """``session.begin()``: delivers changes when the block commits."""

    __slots__ = ()

    async def commit(self) -> None:
        await super().commit()
        await self._deliver()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await super().__aexit__(type_, value, traceback)
        await self._deliver()

    async def _deliver(self) -> None:
        session = self.session
        if isinstance(session, Session) and session.sync_session._tidal_committed:
            await session.deliver_changes()


__all__ = ["Session", "SyncSession"]
