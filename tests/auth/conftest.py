"""Fixtures of the auth tests: an application with ``tidal.auth`` installed, its tables
created, on SQLite and on PostgreSQL (the data tests' ``database_url`` fixture), with cheap
Argon2 parameters so that logging in many times stays fast."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event

import tidal.db
from tidal import Tidal
from tidal.auth import AuthConfig, configure
from tidal.auth.authentication import get_hasher
from tidal.auth.models import User
from tidal.db import Model
from tidal.testing import TestClient

from ..conftest import SECRET
from ..db.conftest import DBSettings
from ..db.conftest import backend as backend
from ..db.conftest import database_url as database_url

FAST = AuthConfig(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1)
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "tidal-waves-2026"


def csrf_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


@pytest.fixture
def make_auth_app(database_url: str) -> Callable[..., Tidal]:
    def factory(config: AuthConfig = FAST, **settings: Any) -> Tidal:
        values: dict[str, Any] = {
            "secret_key": SECRET,
            "allowed_hosts": ["testserver"],
            "database_url": database_url,
        }
        values.update(settings)
        app = Tidal(apps=("tidal.auth",), settings=DBSettings(**values))
        configure(app, config)
        return app

    return factory


async def create_tables(app: Tidal) -> None:
    async with tidal.db.database(app).engine.begin() as connection:
        await connection.run_sync(Model.metadata.create_all)


async def make_user(app: Tidal, username: str = "ada", password: str = PASSWORD, **kw: Any) -> User:
    async with tidal.db.database(app).session() as db:
        user = User(username=username, password=get_hasher(app).hash(password), **kw)
        db.add(user)
        await db.flush()
    return user


async def log_in(
    client: TestClient, username: str = "ada", password: str = PASSWORD, next: str = ""
) -> Any:
    page = await client.get("/auth/login")
    data = {"username": username, "password": password, "csrf_token": csrf_token(page.text)}
    if next:
        data["next"] = next
    return await client.post("/auth/login", data=data)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


@pytest_asyncio.fixture
async def queries(app: Tidal) -> AsyncIterator[QueryCounter]:
    counter = QueryCounter()
    engine = tidal.db.database(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest_asyncio.fixture
async def app(make_auth_app: Callable[..., Tidal]) -> AsyncIterator[Tidal]:
    """The auth app with the test routes of ``support`` and its tables created."""
    from .support import add_routes

    app = make_auth_app()
    add_routes(app)
    await create_tables(app)
    try:
        yield app
    finally:
        await tidal.db.database(app).dispose()
