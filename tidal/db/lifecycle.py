"""The database of one application: its settings, engine and sessions, and ``install``,
which joins it to a ``Tidal`` app through the app's public hooks.

Importing this module is cheap: SQLAlchemy is imported when the engine is first needed (at
start-up for an app that uses the database, or on the first ``session()``). An application
that never touches the database never loads SQLAlchemy and pays nothing per request
(DESIGN principle 5): the session provider runs only for handlers that declare a
``Session`` parameter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

    from tidal.app import Tidal
    from tidal.checks.messages import CheckMessage
    from tidal.db.changes import Registration
    from tidal.db.direct import DirectReads
    from tidal.db.sessions import Session

logger = logging.getLogger("tidal.db")

STATE_KEY = "tidal.db"
URL_SETTING = "TIDAL_DATABASE_URL"

# Drivers Tidal picks when a URL names none (``postgresql://`` as many hosts hand out).
ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
# Blocking drivers: they would stall the event loop, so they are refused at start-up.
SYNC_DRIVERS = frozenset({"pysqlite", "pysqlcipher", "psycopg2", "psycopg2cffi", "pg8000"})
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
# Where ``Session.get`` may read directly (tidal.db.direct): (dialect, driver).
_DIRECT = ("postgresql", "asyncpg")


class RequestSession:
    """Base of ``tidal.db.Session``. Handlers are matched to the session provider through
    it, so ``install`` can register the provider without importing SQLAlchemy."""

    __slots__ = ()


def normalize_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` become ``postgresql+asyncpg://``, and
    ``sqlite://`` becomes ``sqlite+aiosqlite://``; any other URL is returned unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    dialect, _, driver = scheme.partition("+")
    if dialect == "postgres":
        dialect = "postgresql"
    driver = driver or ASYNC_DRIVERS.get(dialect, "")
    return f"{dialect}+{driver}://{rest}" if driver else f"{dialect}://{rest}"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, fit for messages and logs."""
    return _PASSWORD.sub(r"\1***@", url)


@dataclasses.dataclass(frozen=True)
class DatabaseConfig:
    """How to reach the database and size the connection pool.

    Each field is read from the setting ``database_<field>`` (``TIDAL_DATABASE_<FIELD>``)
    when the application's settings have it.
    """

    #: SQLAlchemy URL; driverless ``postgresql://`` and ``sqlite://`` get async drivers.
    url: str = "sqlite+aiosqlite:///db.sqlite3"
    #: Connections kept open to PostgreSQL (and SQLite files) per worker process.
    pool_size: int = 10
    #: Extra connections opened under load beyond ``pool_size``, closed when returned.
    max_overflow: int = 0
    #: Seconds a request waits for a free connection before answering 503.
    pool_timeout: float = 10.0
    #: Seconds to wait for a new connection (PostgreSQL) or for a lock (SQLite's busy
    #: timeout) before giving up.
    connect_timeout: float = 5.0
    #: Log every SQL statement on the ``sqlalchemy.engine`` logger.
    echo: bool = False
    #: ``Retry-After`` seconds sent with a 503 when the database is unreachable or busy.
    retry_after: int = 5
    #: Send BEGIN only before the first statement that may write: on PostgreSQL reads that
    #: come first (and read-only requests) skip two round trips; on SQLite it is ``BEGIN
    #: IMMEDIATE``, so read-then-write requests queue for the lock. See tidal.db.engine.
    lazy_begin: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> DatabaseConfig:
        """Read the ``database_*`` settings, falling back to the defaults above for any
        field the settings do not define."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = getattr(settings, f"database_{field.name}", None)
            if value is not None:
                values[field.name] = value
        return cls(**values)

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgresql"``, ...: the dialect named by the URL."""
        return normalize_url(self.url).partition("://")[0].partition("+")[0]


class Database:
    """One database: a lazily created engine, its session factory and commit listeners.

    ``install(app)`` makes one per application; scripts may make their own:
    ``Database(DatabaseConfig(url=...))``.
    """

    def __init__(self, config: DatabaseConfig | None = None) -> None:
        self.config = config or DatabaseConfig()
        self.url = normalize_url(self.config.url)
        self.listeners: list[Registration] = []
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[Session] | None = None
        self._direct: DirectReads | None = None

    def __repr__(self) -> str:
        return f"<Database {mask_url(self.url)}>"

    # -- engine and sessions --------------------------------------------------------

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy ``AsyncEngine``, created on first use."""
        if self._engine is None:
            from tidal.db.engine import create_engine

            engine = create_engine(self.url, self.config)
            dialect = engine.dialect
            if self.config.lazy_begin and (dialect.name, dialect.driver) == _DIRECT:
                from tidal.db.direct import DirectReads

                self._direct = DirectReads(engine)  # now, while only Tidal listens
            self._engine = engine
        return self._engine

    @property
    def direct(self) -> DirectReads | None:
        """The direct read path of ``Session.get`` (``tidal.db.direct``): PostgreSQL
        through asyncpg with lazy BEGIN only, else ``None``."""
        if self._engine is None:
            _ = self.engine
        return self._direct

    @property
    def started(self) -> bool:
        """Whether the engine exists (and so may hold open connections)."""
        return self._engine is not None

    @property
    def sessionmaker(self) -> async_sessionmaker[Session]:
        """The factory of ``Session`` objects bound to this database."""
        if self._sessionmaker is None:
            from sqlalchemy.ext.asyncio import async_sessionmaker

            from tidal.db.sessions import Session

            self._sessionmaker = async_sessionmaker(
                self.engine, class_=Session, expire_on_commit=False, database=self
            )
        return self._sessionmaker

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """``async with database.session() as db:`` commits at the end of the block, or
        rolls back if it raises."""
        session = self.sessionmaker()
        try:
            yield session
            await session.commit()
        except BaseException:
            await _discard(session)
            raise
        finally:
            await session.close()

    async def provide_session(self) -> AsyncIterator[Any]:
        """The per-request provider: one session, committed when the handler returns,
        rolled back on any exception; database errors become HTTP errors (409, 422, 503).
        """
        session = (self._sessionmaker or self.sessionmaker)()
        try:
            yield session
        except BaseException as exc:
            await _discard(session)
            error = _translate(exc, self.config.retry_after)
            if error is not None:
                raise error from exc
            raise
        if session.needs_commit():
            try:
                await session.commit()
            except BaseException as exc:
                await _discard(session)
                error = _translate(exc, self.config.retry_after)
                if error is not None:
                    raise error from exc
                raise
        await session.release_reader()

    async def dispose(self) -> None:
        """Close every pooled connection; the engine is re-created if used again."""
        engine, self._engine = self._engine, None
        self._sessionmaker = None
        self._direct = None
        if engine is not None:
            await engine.dispose()

    async def ping(self) -> None:
        """Open a connection and run ``SELECT 1``; raise ``ImproperlyConfigured`` naming
        ``TIDAL_DATABASE_URL`` and the fix if that fails."""
        from tidal.db.engine import ping

        try:
            await ping(self.engine, self.config.connect_timeout)
        except Exception as exc:
            raise ImproperlyConfigured(self.unreachable_message(exc)) from exc

    def unreachable_message(self, exc: BaseException) -> str:
        from tidal.db.exceptions import DatabaseUnavailable

        if isinstance(exc, DatabaseUnavailable) and exc.args:
            reason = str(exc.args[0])
        else:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self.config.backend == "sqlite":
            hint = (
                "Check that the file's folder exists and is writable, or point "
                f"{URL_SETTING} at another file (sqlite+aiosqlite:///path/to/db.sqlite3)."
            )
        else:
            hint = (
                "Start the database server, or fix the host, port, user, password and "
                f"database name in {URL_SETTING}."
            )
        return f"Cannot reach the database at {URL_SETTING}={mask_url(self.url)}: {reason}. {hint}"

    # -- change capture -------------------------------------------------------------

    def on_commit(
        self, listener: Callable[..., Any], *, models: Iterable[type] = ()
    ) -> Callable[..., Any]:
        """Call ``listener(changes)`` after each commit of this database's sessions; see
        ``tidal.db.on_commit``."""
        from tidal.db.changes import Registration

        self.listeners.append(Registration(listener, tuple(models)))
        return listener

    def off_commit(self, listener: Callable[..., Any]) -> None:
        self.listeners[:] = [r for r in self.listeners if r.listener is not listener]

    # -- joining an application -----------------------------------------------------

    def is_used_by(self, app: Tidal) -> bool:
        """Whether ``app`` needs the database: an installed app declares models, a route
        asks for a ``Session``, or the engine was already used."""
        if self._engine is not None:
            return True
        models = sys.modules.get("tidal.db.models")  # not imported: no model exists
        if models is not None and any(models.models_of(config) for config in app.apps):
            return True
        provider = self.provide_session
        return any(_depends_on(route.signature, provider) for route in app.route_table.routes)

    async def startup(self, app: Tidal) -> None:
        self.refuse_sync_handlers(app)
        _current.append(self)
        if self.is_used_by(app):
            await self.ping()

    def refuse_sync_handlers(self, app: Tidal) -> None:
        """A plain ``def`` handler runs in a thread and cannot await the session's
        methods: say so at start-up rather than fail on its first request."""
        provider = self.provide_session
        for route in app.route_table.routes:
            signature = route.signature
            if (
                signature is not None
                and not signature.is_async
                and _depends_on(signature, provider)
            ):
                name = getattr(route.handler, "__qualname__", repr(route.handler))
                raise ImproperlyConfigured(
                    f"{name} ({route.path}) asks for a database Session but is a plain "
                    "`def`; the session is asynchronous. Make it `async def` and await the "
                    "session's methods."
                )

    async def shutdown(self) -> None:
        if self in _current:
            _current.remove(self)
        await self.dispose()


_current: list[Database] = []


def _depends_on(signature: Any, provider: Callable[..., Any]) -> bool:
    if signature is None:
        return False
    for parameter in signature.parameters:
        dependency = parameter.dependency
        if dependency is not None and (
            dependency.func == provider or _depends_on(dependency, provider)
        ):
            return True
    return False


async def _discard(session: Any) -> None:
    """Roll back and close after a failure; a dead connection must not hide the error."""
    try:
        await asyncio.shield(session.close())
    except Exception:
        logger.debug("Error while discarding a failed session", exc_info=True)


def _translate(exc: BaseException, retry_after: int) -> Any:
    if not isinstance(exc, Exception):
        return None
    from tidal.db.errors import translate

    return translate(exc, retry_after=retry_after)


def install(app: Tidal) -> Database:
    """Give ``app`` a database: handlers that declare ``db: Session`` get one session per
    request; the engine is created at start-up (only if the app uses it) and disposed at
    shutdown; ``TIDAL_DATABASE_URL`` is checked at start-up. Idempotent."""
    existing = app.state.get(STATE_KEY)
    if isinstance(existing, Database):
        return existing
    database = Database(DatabaseConfig.from_settings(app.settings))
    app.state[STATE_KEY] = database
    app.provide(RequestSession, database.provide_session)

    async def startup() -> None:
        await database.startup(app)

    app.on_startup(startup)
    app.on_shutdown(database.shutdown)
    app.check(check_database_url)
    return database


def database(app: Tidal | None = None) -> Database:
    """The ``Database`` of ``app`` (installing it if needed), or, without ``app``, of the
    application started most recently."""
    if app is not None:
        return install(app)
    if not _current:
        raise ImproperlyConfigured(
            "No application with a database has started, so tidal.db does not know which "
            "database to use. Pass the application (tidal.db.session(app)) or start it "
            "first (async with app.running(): ...)."
        )
    return _current[-1]


def session(app: Tidal | None = None) -> Any:
    """``async with tidal.db.session() as db:`` for code outside requests (CLI commands,
    tasks, scripts, tests): commits when the block ends, rolls back if it raises.

    Without ``app``, the database of the application started most recently is used.
    """
    return database(app).session()


def check_database_url(app: Tidal) -> Iterator[CheckMessage]:
    """``db.E001``: the URL is not one Tidal can use. Costs a string parse, no import."""
    from tidal.checks.messages import Error

    raw = getattr(app.settings, "database_url", "")
    url = normalize_url(raw)
    scheme, sep, _ = url.partition("://")
    dialect, _, driver = scheme.partition("+")
    if not sep or not dialect:
        yield Error(
            "db.E001",
            f"{URL_SETTING}={mask_url(raw)!r} is not a database URL.",
            "Use sqlite+aiosqlite:///db.sqlite3 or postgresql+asyncpg://user:password@host/name.",
            "settings",
        )
    elif driver in SYNC_DRIVERS:
        fixed = f"{dialect}+{ASYNC_DRIVERS.get(dialect, '<async driver>')}://"
        yield Error(
            "db.E002",
            f"{URL_SETTING} uses the blocking driver {driver!r}, which would stall the event loop.",
            f"Use an asyncio driver: start the URL with {fixed}",
            "settings",
        )


__all__ = [
    "Database",
    "DatabaseConfig",
    "RequestSession",
    "check_database_url",
    "database",
    "install",
    "mask_url",
    "normalize_url",
    "session",
]
