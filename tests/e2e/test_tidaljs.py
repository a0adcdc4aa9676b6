"""tidal.js in headless Chromium against a real uvicorn + Redis: two pages see each other's
changes, and after the server is killed and restarted on the same port the pages reconnect
and catch up on what was published meanwhile, without reloading.

Needs Debian's /usr/bin/chromium (never downloaded); a missing browser fails the test.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright
from redis.asyncio import Redis

from tests.realtime.conftest import REDIS_URL
from tests.realtime.conftest import prefix as prefix
from tests.realtime.conftest import redis_client as redis_client
from tests.realtime.servers import Server
from tidal.realtime import protocol
from tidal.realtime.backends.redis import RedisPubSub

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (apt-get install chromium).")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def env(prefix: str, redis_client: Redis) -> dict[str, str]:
    return {"TIDAL_REDIS_URL": REDIS_URL, "TIDAL_REALTIME_REDIS_PREFIX": prefix}


async def open_page(browser: Browser, server: Server, name: str) -> Page:
    page = await browser.new_page()
    page.on("pageerror", lambda error: print("page error:", error))
    await page.goto(f"{server.url}/?room=main&name={name}")
    # (predicates are functions, not strings: the page's Content-Security-Policy forbids
    # eval, and the test runs under it like a real page)
    await page.evaluate("window.loadedOnce = true")
    return page


async def wait_said(page: Page, text: str) -> None:
    await page.wait_for_function(
        "(text) => window.tidal.said.includes(text)", arg=text, timeout=15_000
    )
    await page.locator("#log li", has_text=text).wait_for(timeout=5_000)


async def test_two_pages_and_a_server_restart(
    browser: Browser, env: dict[str, str], prefix: str, tmp_path: Path
) -> None:
    server = Server(tmp_path / "server.log", env).start()
    try:
        ann = await open_page(browser, server, "ann")
        bob = await open_page(browser, server, "bob")
        for page in (ann, bob):
            await page.wait_for_function(
                "() => Object.values(window.tidal.presence).flat().length === 2", timeout=10_000
            )
        names = await bob.evaluate(
            "Object.values(window.tidal.presence).flat().map(m => m.name).sort()"
        )
        assert names == ["ann", "bob"]

        assert await ann.evaluate("window.say('hello from ann')") == {"ok": True}
        await wait_said(bob, "hello from ann")

        # The server dies; meanwhile another worker (here: this test) publishes.
        server.stop(signal.SIGKILL)
        await bob.wait_for_function("() => window.tidal.socket.status === 'connecting'")
        backend = RedisPubSub(REDIS_URL, prefix=prefix)
        payload = protocol.encode_payload("said", {"text": "while you were away"})
        await backend.redis.ping()
        await backend.publish("room:main", payload)
        await backend.stop()

        server = Server(tmp_path / "server.log", env, port=server.port).start()
        for page in (ann, bob):
            await wait_said(page, "while you were away")
            assert await page.evaluate("window.loadedOnce") is True  # not reloaded
            assert await page.evaluate("window.tidal.gone") == 0
            assert await page.evaluate("window.tidal.said.length") == 2  # nothing twice
        await bob.wait_for_function("() => window.tidal.socket.status === 'open'")
        assert await bob.evaluate("window.say('back again')") == {"ok": True}
        await wait_said(ann, "back again")
    finally:
        output = server.stop()
    assert "Traceback" not in output, output
