"""The demo board on PostgreSQL + Redis, as it scales: two `tidal demo` processes on two
ports share one database (a schema made for the test) and one Redis (a key prefix made for
the test), and each member's page talks to a different one. Every change still reaches the
other page, presence spans both, sessions work on either, and a page whose worker dies
resumes from Redis's history when the worker is back. Then `tidal demo --workers 2` itself.

PostgreSQL, Redis or Chromium missing fails these tests; they never skip.
"""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.board.browser import (
    LIVE,
    PROBLEMS,
    Cable,
    Demo,
    add_a_card,
    card_in,
    drag_a_card,
    log_out_ends_the_session,
    move_with_keys,
    open_board,
    refused_to,
    sign_up,
    viewers,
)
from tests.board.browser import browser as browser
from tests.board.conftest import PASSWORD
from tests.conftest import SECRET
from tests.db.conftest import POSTGRES_URL, create_schema, drop_schema, with_schema
from tests.realtime.conftest import REDIS_URL
from tests.realtime.conftest import prefix as prefix
from tests.realtime.conftest import redis_client as redis_client

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]


@pytest_asyncio.fixture
async def env(prefix: str, redis_client: Redis) -> AsyncIterator[dict[str, str]]:
    """Settings of every server process of one site: a fresh schema, this test's Redis key
    prefix (its keys are deleted afterwards), one secret key."""
    schema = await create_schema(POSTGRES_URL)
    try:
        yield {
            "TIDAL_DATABASE_URL": with_schema(POSTGRES_URL, schema),
            "TIDAL_REDIS_URL": REDIS_URL,
            "TIDAL_REALTIME_REDIS_PREFIX": f"{prefix}rt:",
            "TIDAL_SESSION_KEY_PREFIX": f"{prefix}session:",
            "TIDAL_RATE_LIMIT_KEY_PREFIX": f"{prefix}ratelimit:",
            "TIDAL_SECRET_KEY": SECRET,
        }
    finally:
        await drop_schema(POSTGRES_URL, schema)


async def test_two_members_on_two_workers(
    browser: Browser, env: dict[str, str], tmp_path: Path
) -> None:
    first = Demo(tmp_path / "first", env).start()  # migrates and seeds
    second = Demo(tmp_path / "second", env, seed=False).start()
    try:
        assert first.process is not None
        assert second.process is not None
        assert first.process.pid != second.process.pid
        demo_cable = Cable()
        demo = await open_board(browser, first.url, "demo", cable=demo_cable)
        sam = await open_board(browser, second.url, "sam")
        for page in (demo, sam):
            assert await viewers(page, 2) == ["demo", "sam"]

        await drag_a_card(demo, sam)  # first worker -> Redis -> second worker
        await move_with_keys(sam, demo)  # and back
        await add_a_card(sam, demo, "Plan the launch party")

        # Sessions live in Redis: signed up on one worker, known to the other.
        eve = await sign_up(browser, second.url, "eve")
        await refused_to(eve, first.url)

        # demo's connection drops for a moment: what it missed is replayed from Redis.
        await demo_cable.cut()
        await demo.locator("#status[data-status=connecting]").wait_for()
        await add_a_card(sam, None, "While you were away")
        fetched: list[str] = []
        demo.on("request", lambda request: fetched.append(request.url))
        demo_cable.restore()
        await demo.locator("#status[data-status=open]").wait_for(timeout=30_000)
        await expect(card_in(demo, "To do", "While you were away")).to_be_visible(timeout=LIVE)
        assert f"{first.url}/api/boards/1" not in fetched  # replayed, not fetched again

        # demo's worker dies; sam keeps working on the other; the worker comes back.
        first.stop(signal.SIGKILL)
        await demo.locator("#status[data-status=connecting]").wait_for()
        await add_a_card(sam, None, "While your worker was down")
        first.start()
        await demo.locator("#status[data-status=open]").wait_for(timeout=30_000)
        await expect(card_in(demo, "To do", "While your worker was down")).to_be_visible(
            timeout=LIVE
        )
        assert await demo.evaluate("window.loadedOnce") is True

        await log_out_ends_the_session(sam, second.url)
        assert await viewers(demo, 1) == ["demo"]
    finally:
        outputs = first.stop() + second.stop()
    assert "Traceback" not in outputs, outputs
    assert PROBLEMS == []  # no script error, nothing the Content-Security-Policy refused


async def test_tidal_demo_with_two_worker_processes(env: dict[str, str], tmp_path: Path) -> None:
    server = Demo(tmp_path, env, workers=2).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            page = await client.get("/auth/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            form = {"username": "sam", "password": PASSWORD, "csrf_token": token.group(1)}
            assert (await client.post("/auth/login", data=form)).status_code == 303
            # One session in Redis, whichever worker answers.
            for _ in range(6):
                assert (await client.get("/boards/1")).status_code == 200
    finally:
        output = server.stop()
    workers = set(re.findall(r"Started server process \[(\d+)\]", output))
    assert len(workers) == 2, output
    assert "with 2 workers" in output or "Started parent process" in output
    assert "Traceback" not in output, output
