"""Sessions in the database: the ``tidal_session`` table of the ``tidal.sessions`` app, on
SQLite or PostgreSQL.

The store opens its own connections, from a small pool of its own, for two reasons:

* a session write is its own transaction: it never commits (or waits for) the transaction
  of the request that uses the session;
* a request that holds one of the application's connections (it queried, then renders a
  form that needs the CSRF token) never waits for a second one from the same pool, which
  deadlocks once every connection is held by such a request.

An in-memory SQLite database exists once per engine, so there the application's own engine
is shared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import time
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, inspect, select
from sqlalchemy.engine import Connection, Dialect, make_url

from tidal.db.lifecycle import Database, mask_url
from tidal.db.models import utcnow
from tidal.exceptions import ImproperlyConfigured
from tidal.sessions.backends.base import SessionStore
from tidal.sessions.models import SessionRecord

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from tidal.app import Tidal

logger = logging.getLogger("tidal.sessions")
TABLE = cast(Table, SessionRecord.__table__)
#: Most connections the store keeps open per worker process (fewer when the application's
#: own pool, ``database_pool_size``, is smaller). Each statement holds one only briefly.
POOL_SIZE = 4
#: Seconds between two sweeps of expired rows (each started by a write, in the background).
SWEEP_INTERVAL = 3600.0


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _upsert(dialect: Dialect) -> Any:
    """``INSERT ... ON CONFLICT (id_hash) DO UPDATE``: one atomic statement, so two
    requests saving the same session at once leave one whole record, never a mix."""
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect.name == "postgresql":
        statement: Any = postgresql.insert(TABLE)
    elif dialect.name == "sqlite":
        statement = sqlite.insert(TABLE)
    else:
        raise ImproperlyConfigured(
            f"The database session store supports SQLite and PostgreSQL, not {dialect.name}. "
            "Use TIDAL_SESSION_STORE=redis (with TIDAL_REDIS_URL) instead."
        )
    return statement.on_conflict_do_update(
        index_elements=[TABLE.c.id_hash],
        set_={"data": statement.excluded.data, "expires_at": statement.excluded.expires_at},
    )


class DatabaseSessionStore(SessionStore):
    """One row per session: ``(id_hash, data, expires_at)``.

    ``get`` ignores an expired row and deletes it; ``set`` is a single upsert; every
    ``sweep_interval`` seconds a ``set`` also starts ``clear_expired`` in the background
    (``tidal sessions clear`` does it from cron).

    Args:
        database: the database holding the table; the store disposes of it at shutdown
            when ``owns_database`` (see ``for_app``).
        sweep_interval: seconds between background sweeps; 0 turns them off.
    """

    def __init__(
        self,
        database: Database,
        *,
        owns_database: bool = True,
        sweep_interval: float = SWEEP_INTERVAL,
    ) -> None:
        self.database = database
        self.owns_database = owns_database
        self.sweep_interval = sweep_interval
        self._upsert: Any = None
        self._next_sweep = 0.0
        self._sweeping: asyncio.Task[None] | None = None

    @classmethod
    def for_app(cls, app: Tidal) -> DatabaseSessionStore:
        """A store on ``app``'s database, with a pool of its own (see the module docstring)."""
        from tidal.db.lifecycle import database

        shared = database(app)
        if _in_memory(shared.url):
            return cls(shared, owns_database=False)
        config = shared.config
        pool_size = max(1, min(POOL_SIZE, config.pool_size))
        return cls(Database(dataclasses.replace(config, pool_size=pool_size)))

    @property
    def engine(self) -> AsyncEngine:
        return self.database.engine

    async def get(self, key: str) -> bytes | None:
        async with self.engine.connect() as connection:
            query = select(TABLE.c.data, TABLE.c.expires_at).where(TABLE.c.id_hash == key)
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        data, expires_at = row
        now = utcnow()
        if expires_at > now:
            return bytes(data)
        async with self.engine.begin() as connection:  # expired: purge it now
            await connection.execute(
                delete(TABLE).where(TABLE.c.id_hash == key, TABLE.c.expires_at <= now)
            )
        return None

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        expires_at = utcnow() + datetime.timedelta(seconds=max(1, ttl))
        async with self.engine.begin() as connection:
            if self._upsert is None:
                self._upsert = _upsert(connection.dialect)
            await connection.execute(
                self._upsert, {"id_hash": key, "data": value, "expires_at": expires_at}
            )
        self._sweep_if_due()

    async def delete(self, key: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(delete(TABLE).where(TABLE.c.id_hash == key))

    async def clear_expired(self) -> int:
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(TABLE).where(TABLE.c.expires_at <= utcnow()))
        return max(0, result.rowcount)

    def _sweep_if_due(self) -> None:
        now = time.monotonic()
        if self.sweep_interval <= 0 or now < self._next_sweep or self._sweeping is not None:
            return
        self._next_sweep = now + self.sweep_interval
        self._sweeping = asyncio.create_task(self._sweep(), name="tidal session sweep")

    async def _sweep(self) -> None:
        try:
            count = await self.clear_expired()
            logger.debug("Deleted %d expired sessions", count)
        except Exception:
            logger.exception("Deleting expired sessions failed; retrying at the next sweep")
        finally:
            self._sweeping = None

    async def check(self) -> None:
        """Raise ``ImproperlyConfigured`` saying what to run when the table is missing
        (called at start-up by the ``tidal.sessions`` app)."""
        try:
            async with self.engine.connect() as connection:

                def has_table(sync_connection: Connection) -> bool:
                    return inspect(sync_connection).has_table(TABLE.name)

                exists = await connection.run_sync(has_table)
        except Exception as exc:
            raise ImproperlyConfigured(self.database.unreachable_message(exc)) from exc
        if not exists:
            raise ImproperlyConfigured(
                f"Sessions are stored in the database, but its table {TABLE.name} does not "
                f"exist at TIDAL_DATABASE_URL={mask_url(self.database.url)}. Run "
                "`tidal db migrate` to create it (migration sessions_0001 of the "
                "tidal.sessions app), or choose another store with TIDAL_SESSION_STORE."
            )

    async def close(self) -> None:
        sweeping = self._sweeping
        if sweeping is not None:
            await sweeping
        if self.owns_database:
            await self.database.dispose()


__all__ = ["POOL_SIZE", "SWEEP_INTERVAL", "DatabaseSessionStore"]
