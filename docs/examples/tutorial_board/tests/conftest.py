"""Each test gets the application with a database of its own, two users and their board."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from app import create_app
from kanban.models import Board, Membership

import tidal.db
from tidal import Tidal
from tidal.auth import AuthConfig, User, configure, set_password
from tidal.db import Model
from tidal.testing import TestClient

PHRASE = "correct horse battery staple"  # the password of every test user


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Tidal]:
    app = create_app({"debug": True, "database_url": f"sqlite+aiosqlite:///{tmp_path}/test.db"})
    configure(app, AuthConfig(argon2_time_cost=1, argon2_memory_cost=1024))  # fast hashing
    async with tidal.db.database(app).engine.begin() as connection:
        await connection.run_sync(Model.metadata.create_all)
    async with tidal.db.session(app) as db:
        for name in ("ann", "bob", "eve"):
            user = User(username=name)
            await set_password(app, user, PHRASE)
            db.add(user)
        db.add(Board(title="Chores"))
        await db.flush()
        db.add_all([Membership(board_id=1, user_id=1), Membership(board_id=1, user_id=2)])
    yield app
    await tidal.db.database(app).dispose()


async def _log_in(client: TestClient, username: str) -> str:
    page = await client.get("/auth/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"username": username, "password": PHRASE, "csrf_token": token.group(1)}
    assert (await client.post("/auth/login", data=form)).status_code == 303
    board = await client.get("/")
    found = re.search(r'name="csrf-token" content="([^"]+)"', board.text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def log_in() -> Callable[[TestClient, str], Awaitable[str]]:
    """``await log_in(client, "ann")`` logs in with the login form; returns the CSRF token
    the session's pages carry."""
    return _log_in
