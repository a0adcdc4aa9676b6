"""Fixtures of the data tests: every test runs once on SQLite and once on PostgreSQL.

Isolation: SQLite gets a fresh file in the test's tmp_path; PostgreSQL a fresh schema in the
database named by ``TIDAL_TEST_POSTGRES_URL`` (default: the local ``test`` database), reached
through ``?options=-csearch_path=<schema>`` and dropped afterwards. A PostgreSQL that cannot
be reached fails the tests: CI must not pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

import tidal.db
from tidal import Settings, Tidal
from tidal.db import Model
from tidal.db.lifecycle import DatabaseConfig

from ..conftest import SECRET

POSTGRES_URL = os.environ.get(
    "TIDAL_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgres"]
TEST_APP = "tests.db.blog"

# The database_* settings Tidal reads (DatabaseConfig's fields) that Settings does not define
# yet, added on a subclass so tests can set them like any other setting.
_MISSING = [
    (f"database_{name}", type(default), default)
    for name, default in (
        (f, getattr(DatabaseConfig(), f)) for f in DatabaseConfig.__dataclass_fields__
    )
    if f"database_{name}" not in Settings.__struct_fields__
]
DBSettings: type[Settings] = msgspec.defstruct(
    "DBSettings", _MISSING, bases=(Settings,), kw_only=True, forbid_unknown_fields=True
)


def with_schema(url: str, schema: str) -> str:
    """``url`` with its connections' search_path set to ``schema``."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


async def create_schema(url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except (OSError, Exception) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at TIDAL_TEST_POSTGRES_URL={url} ({exc}). The data "
            "tests run on both SQLite and PostgreSQL; start PostgreSQL (pg_ctlcluster 15 main "
            "start) or point TIDAL_TEST_POSTGRES_URL at one.",
            pytrace=False,
        )
    finally:
        await engine.dispose()
    return schema


async def drop_schema(url: str, schema: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def database_url(backend: str, tmp_path: Any) -> AsyncIterator[str]:
    """An empty database of ``backend``, for this test only."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    schema = await create_schema(POSTGRES_URL)
    try:
        yield with_schema(POSTGRES_URL, schema)
    finally:
        await drop_schema(POSTGRES_URL, schema)


@pytest.fixture
def make_db_app(database_url: str) -> Callable[..., Tidal]:
    """``make_db_app(database_pool_size=1, ...)``: a Tidal app with the test app's models and
    the database installed, on this test's database."""

    def factory(*, apps: tuple[str, ...] = (TEST_APP,), **settings: Any) -> Tidal:
        values: dict[str, Any] = {
            "secret_key": SECRET,
            "allowed_hosts": ["testserver"],
            "database_url": database_url,
        }
        values.update(settings)
        app = Tidal(apps=apps, settings=DBSettings(**values))
        tidal.db.install(app)
        return app

    return factory


@pytest_asyncio.fixture
async def app(make_db_app: Callable[..., Tidal]) -> AsyncIterator[Tidal]:
    """The test app with its tables created."""
    app = make_db_app()
    database = tidal.db.database(app)
    async with database.engine.begin() as connection:
        await connection.run_sync(Model.metadata.create_all)
    try:
        yield app
    finally:
        await database.dispose()
