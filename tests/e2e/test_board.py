"""The demo board in headless Chromium, served by `tidal demo` (SQLite, one process): two
members on one board see each other (presence) and each other's moves (drag and drop,
keyboard) without reloading; a non-member is refused; a page that lost its server catches
up when it comes back (its missed events no longer kept: it fetches the board again);
logging out ends the session.

Needs Debian's /usr/bin/chromium (never downloaded); a missing browser fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.board.browser import (
    LIVE,
    PROBLEMS,
    Cable,
    Demo,
    add_a_card,
    card_in,
    comment_live,
    drag_a_card,
    log_out_ends_the_session,
    move_with_keys,
    open_board,
    refused_to,
    sign_up,
    titles,
    viewers,
)
from tests.board.browser import browser as browser

pytestmark = pytest.mark.browser


async def test_two_members_on_one_board(browser: Browser, tmp_path: Path) -> None:
    # A short history, so that a page offline for a few changes cannot replay them.
    server = Demo(tmp_path / "demo", {"TIDAL_REALTIME_HISTORY": "5"}).start()
    sam_cable = Cable()
    try:
        demo = await open_board(browser, server.url, "demo")
        sam = await open_board(browser, server.url, "sam", cable=sam_cable)
        fetched: list[str] = []
        sam.on("request", lambda request: fetched.append(request.url))
        for page in (demo, sam):
            assert await viewers(page, 2) == ["demo", "sam"]

        await drag_a_card(demo, sam)
        await move_with_keys(sam, demo)
        await add_a_card(demo, sam, "Plan the launch party")
        await comment_live(demo, sam, server.url)
        # Every change was applied from its broadcast: the board was never fetched again.
        assert f"{server.url}/api/boards/1" not in fetched

        eve = await sign_up(browser, server.url, "eve")
        await refused_to(eve, server.url)

        # sam's connection drops; meanwhile more happens than the board's history keeps.
        await sam_cable.cut()
        await sam.locator("#status[data-status=connecting]").wait_for()
        for number in range(1, 7):
            await add_a_card(demo, None, f"Idea {number}")
        sam_cable.restore()
        # History gone: the page fetches the board again from the API, without reloading.
        await sam.locator("#status[data-status=open]").wait_for(timeout=30_000)
        await expect(card_in(sam, "To do", "Idea 6")).to_be_visible(timeout=LIVE)
        assert await titles(sam, "To do") == await titles(demo, "To do")
        assert f"{server.url}/api/boards/1" in fetched
        assert await sam.evaluate("window.loadedOnce") is True

        await log_out_ends_the_session(demo, server.url)
        assert await viewers(sam, 1) == ["sam"]
    finally:
        output = server.stop()
    assert "Traceback" not in output, output
    assert PROBLEMS == []  # no script error, nothing the Content-Security-Policy refused
