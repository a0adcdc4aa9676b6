"""``Session``: the ``AsyncSession`` handlers declare, which delivers captured changes to
the commit listeners after each successful commit.

In a request, ``db: Session`` is opened for the handler, committed when it returns and
rolled back if it raises (see ``Database.provide_session``). Elsewhere, use
``async with tidal.db.session() as db:``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from tidal.db.changes import TrackedSession, deliver
from tidal.db.lifecycle import RequestSession

if TYPE_CHECKING:
    from tidal.db.lifecycle import Database


class Session(AsyncSession, RequestSession):
    """An ``AsyncSession`` bound to a Tidal database.

    Everything ``AsyncSession`` does works; in addition, after each successful commit the
    inserted, updated and deleted rows are handed to the ``on_commit`` listeners.
    """

    sync_session_class = TrackedSession
    sync_session: TrackedSession

    def __init__(self, bind: Any = None, *, database: Database | None = None, **kw: Any) -> None:
        super().__init__(bind, **kw)
        self.database = database

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


__all__ = ["Session"]
