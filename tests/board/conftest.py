"""The demo board (examples/board) under test: its application built per test on a fresh
database (SQLite, or a PostgreSQL schema: the data tests' ``database_url`` fixture),
migrated with its real migrations and seeded with the demo data.

The project's ``app.py`` is loaded under a private name (another test's folder may have an
``app`` module), with its settings in the environment, as ``tidal run`` would load it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

import tidal.db
from tidal import Tidal
from tidal.auth import AuthConfig, configure
from tidal.db.migrations.runner import Migrations
from tidal.realtime.outbox import outbox
from tidal.testing import TestClient, WebSocketSession

from ..conftest import SECRET
from ..db.conftest import backend as backend
from ..db.conftest import database_url as database_url

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "board"
if str(PROJECT) not in sys.path:
    sys.path.append(str(PROJECT))

FAST = AuthConfig(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1)
PASSWORD = "tidal-demo-board"  # board.seed.PASSWORD
ORIGIN = "http://testserver"
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
_counter = itertools.count()


def load_project(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Tidal:
    """A new application from examples/board/app.py, with ``env`` as its settings."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    name = f"_board_site_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, PROJECT / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app: Tidal = module.app
    configure(app, FAST)
    # Broadcasts go out after each commit; the periodic outbox sweep (for workers that die
    # between their commit and its relay) is not needed here, and a sweep still running
    # when a test's client shuts the database down would leave a connection behind.
    outbox(app).interval = 0
    return app


@pytest.fixture
def make_board_app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Tidal]:
    def factory(**env: str) -> Tidal:
        values = {
            "TIDAL_DATABASE_URL": database_url,
            "TIDAL_SECRET_KEY": SECRET,
            "TIDAL_ALLOWED_HOSTS": "testserver",
            **env,
        }
        return load_project(values, monkeypatch)

    return factory


@pytest_asyncio.fixture
async def app(make_board_app: Callable[..., Tidal]) -> AsyncIterator[Tidal]:
    """The board, migrated and seeded: ``demo`` owns board 1, shared with ``sam``; ``sam``
    owns board 2 alone; ``eve`` is on no board."""
    from board.seed import seed

    app = make_board_app()
    # The migration commands run their own event loop: in a thread, as on the command line.
    await asyncio.to_thread(Migrations(app).migrate)
    await seed(app)
    await add_user(app, "eve")
    try:
        yield app
    finally:
        await tidal.db.database(app).dispose()


async def add_user(app: Tidal, username: str) -> None:
    from tidal.auth import User, set_password

    async with tidal.db.session(app) as db:
        user = User(username=username)
        await set_password(app, user, PASSWORD)
        db.add(user)


def wait_for_server(url: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    """The first answer of a server starting in ``process`` (its output in ``log``)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"The server did not start:\n{log.read_text()}") from None
            time.sleep(0.1)  # the port is not open yet: there is nothing to wait on but time


def csrf_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no <meta name=csrf-token> in the page"
    return match.group(1)


async def log_in(client: TestClient, username: str) -> str:
    """Log ``username`` in through the login form; returns a CSRF token of the session."""
    page = await client.get("/auth/login")
    token = csrf_of(page.text)
    answer = await client.post(
        "/auth/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of((await client.get("/boards")).text)


def socket_of(client: TestClient, **headers: str) -> WebSocketSession:
    """The channel socket, opened like tidal.js does (session cookie, same origin)."""
    cookie = client.cookies.get("tidal_session")
    if cookie:
        headers.setdefault("cookie", f"tidal_session={cookie}")
    headers.setdefault("origin", ORIGIN)
    return client.websocket_connect("/_tidal/socket", headers=headers, subprotocols=["tidal.v1"])


async def join(socket: WebSocketSession, topic: str, token: str | None, ref: int = 1) -> Any:
    if token is not None:
        await socket.send_json({"type": "auth", "csrf_token": token})
    await socket.send_json({"type": "join", "ref": ref, "topic": topic})
    while True:
        frame = await socket.receive_json()
        if frame["type"] == "reply" and frame["ref"] == ref:
            return frame


async def next_event(socket: WebSocketSession) -> Any:
    """The next broadcast the socket receives (presence frames are skipped)."""
    while True:
        frame = await socket.receive_json()
        if frame["type"] == "event":
            return frame
