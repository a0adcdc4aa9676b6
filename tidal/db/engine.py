"""Creating the ``AsyncEngine``: SQLite tuned for a web server, PostgreSQL with a sized pool.

SQLite gets WAL (readers never wait for the writer), foreign keys enforced, a busy timeout
(a writer waits for the lock instead of failing at once) and transactions that Tidal begins
itself, so SAVEPOINTs and transactional DDL work. With ``lazy_begin`` (the default) reads
before the first write run on their own and ``BEGIN IMMEDIATE`` comes right before the first
statement that may write (a SAVEPOINT or DDL included), so concurrent requests that read and
then write queue for the write lock instead of failing with "database is locked".
PostgreSQL (asyncpg) gets a pool of ``pool_size`` connections and a connect timeout; libpq's
``?options=-c name=value`` in the URL becomes asyncpg ``server_settings``, so
``?options=-csearch_path%3Dtenant`` works.

A connection that cannot be opened raises ``DatabaseUnavailable`` whatever the driver's
own error was, so callers can answer 503 without knowing the driver.

PostgreSQL transactions begin lazily (``lazy_begin``, on by default): a SELECT that comes
before the first write runs on its own, the way Django's autocommit runs it, and ``BEGIN``
is sent right before the first statement that may write. A read-only request then costs one
round trip instead of three (BEGIN, SELECT, COMMIT), and a request that writes is still one
transaction, committed or rolled back as a whole. "May write" is decided conservatively:
anything but a SELECT compiled by SQLAlchemy, and SELECTs that lock (``FOR UPDATE``,
``FOR SHARE``) or take a transaction-level advisory lock, begin the transaction first;
``text()`` statements always do. At READ COMMITTED, PostgreSQL's default, each statement
sees a fresh snapshot either way, so a read outside the transaction sees what it would have
seen inside it. A connection with another isolation level (``execution_options``) keeps
ordinary transactions.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import Any

from sqlalchemy import CompoundSelect, Select, event, text
from sqlalchemy.engine import URL, Connection, Dialect, ExecutionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tidal.db.exceptions import DatabaseUnavailable
from tidal.db.lifecycle import DatabaseConfig
from tidal.db.pool import FairPool


def _server_settings(url: URL) -> tuple[URL, dict[str, str]]:
    """Move libpq-style ``options=-c name=value ...`` out of the URL for asyncpg."""
    raw = url.query.get("options")
    if raw is None:
        return url, {}
    settings: dict[str, str] = {}
    words = shlex.split(raw if isinstance(raw, str) else " ".join(raw))
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-c" and index + 1 < len(words):
            index += 1
            word = words[index]
        elif word.startswith(("-c", "--")):
            word = word[2:]
        name, sep, value = word.partition("=")
        if sep:
            settings[name.replace("-", "_")] = value
        index += 1
    return url.difference_update_query(["options"]), settings


def create_engine(url: str, config: DatabaseConfig) -> AsyncEngine:
    """The engine for ``url`` (already normalized) configured by ``config``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"echo": config.echo}
    connect_args: dict[str, Any] = {}
    memory = backend == "sqlite" and parsed.database in (None, "", ":memory:")
    if not memory:
        options.update(
            poolclass=FairPool,  # waiting requests served in arrival order: see tidal.db.pool
            pool_size=config.pool_size,
            max_overflow=config.max_overflow,
            pool_timeout=config.pool_timeout,
        )
    if backend == "sqlite":
        connect_args["timeout"] = config.connect_timeout
    elif parsed.get_driver_name() == "asyncpg":
        parsed, server_settings = _server_settings(parsed)
        connect_args["timeout"] = config.connect_timeout
        if server_settings:
            connect_args["server_settings"] = server_settings
    engine = create_async_engine(parsed, connect_args=connect_args, **options)
    _report_connect_failures(engine)
    if backend == "sqlite":
        _tune_sqlite(
            engine,
            busy_timeout_ms=int(config.connect_timeout * 1000),
            memory=memory,
            lazy=config.lazy_begin,
        )
    elif parsed.get_driver_name() == "asyncpg" and config.lazy_begin:
        _begin_lazily(engine)
    return engine


_LOCKING = (" FOR UPDATE", " FOR SHARE", " FOR NO KEY UPDATE", " FOR KEY SHARE", "_xact_lock")


def _reads_only(statement: str, context: ExecutionContext | None, many: bool) -> bool:
    """Whether a statement certainly neither writes nor needs the transaction's locks."""
    compiled = getattr(context, "compiled", None)
    return (
        not many
        and compiled is not None
        and isinstance(compiled.statement, (Select, CompoundSelect))
        and not any(marker in statement for marker in _LOCKING)
    )


def _begin_lazily(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.autocommit = True  # no BEGIN until a statement may write

    @event.listens_for(sync_engine, "checkin")
    def checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Back in the pool (the transaction, if any, was ended by the pool's reset).
        if dbapi_connection is not None and getattr(dbapi_connection, "_transaction", 1) is None:
            dbapi_connection.autocommit = True

    @event.listens_for(sync_engine, "before_cursor_execute")
    def before_execute(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        dbapi_connection = cursor._adapt_connection
        if dbapi_connection.autocommit and not _reads_only(statement, context, executemany):
            # The driver sends BEGIN before this statement, and COMMIT/ROLLBACK when
            # SQLAlchemy ends the transaction.
            dbapi_connection.autocommit = False


def _report_connect_failures(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def connect(dialect: Dialect, record: ConnectionPoolEntry, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            raise DatabaseUnavailable(f"{type(exc).__name__}: {reason}") from exc


def _tune_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int, memory: bool, lazy: bool) -> None:
    pragmas = [f"PRAGMA busy_timeout = {busy_timeout_ms}", "PRAGMA foreign_keys = ON"]
    if not memory:
        pragmas += ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"]

    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # The sqlite3 module would issue BEGIN itself, too late for SAVEPOINT and DDL;
        # switch that off and let the "begin" hook below start each transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    if not lazy:

        @event.listens_for(engine.sync_engine, "begin")
        def begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

        return

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def before_execute(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        # A deferred BEGIN followed by reads pins a WAL snapshot; if another connection
        # commits before this one's first write, SQLite refuses the upgrade at once
        # (SQLITE_BUSY_SNAPSHOT, no busy wait). Taking the write lock at the first write
        # instead waits its turn and always starts from the latest commit.
        sqlite_connection = cursor._adapt_connection._connection
        if (
            connection.in_transaction()
            and not sqlite_connection.in_transaction
            and not _reads_only(statement, context, executemany)
        ):
            cursor.execute("BEGIN IMMEDIATE")


async def ping(engine: AsyncEngine, seconds: float) -> None:
    """Open a connection and run ``SELECT 1`` within ``seconds`` (plus one)."""

    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), seconds + 1.0)
    except TimeoutError as exc:
        raise DatabaseUnavailable(f"no answer within {seconds + 1.0:g} seconds") from exc


__all__ = ["create_engine", "ping"]
