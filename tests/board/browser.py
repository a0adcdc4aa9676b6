"""What the browser tests of the demo board share: ``tidal demo`` in a subprocess, Debian's
Chromium (never a downloaded browser; a missing one fails the tests) and a few helpers to
drive the board page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)

from tests.realtime.servers import free_port

from .conftest import PASSWORD, wait_for_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LIVE = 3_000  # ms: a change shows on the other page well within this (the goal is < 1 s)
# Script errors and Content-Security-Policy violations of every page the tests open; the
# tests end by checking that there were none.
PROBLEMS: list[str] = []


def watch(page: Page) -> Page:
    page.on("pageerror", lambda error: PROBLEMS.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            PROBLEMS.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return page


class Demo:
    """``tidal demo`` serving the board from ``folder`` in a subprocess.

    Args:
        folder: its ``--dir`` (and working folder); the server's output goes to a log there.
        env: TIDAL_* settings on top of a clean environment.
        port: a fixed port (to restart on the same one), default a free one.
        workers: ``--workers``.
        seed: without it, ``--no-seed``.
    """

    def __init__(
        self,
        folder: Path,
        env: dict[str, str] | None = None,
        *,
        port: int | None = None,
        workers: int | None = None,
        seed: bool = True,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.log = folder / "server.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
        self.env = {**clean, **(env or {})}
        self.port = port or free_port()
        self.workers = workers
        self.seed = seed
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Demo:
        command = [str(Path(sys.executable).with_name("tidal")), "demo", "--dir", str(self.folder)]
        command += ["--port", str(self.port)]
        if self.workers:
            command += ["--workers", str(self.workers)]
        if not self.seed:
            command.append("--no-seed")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=self.folder, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for_server(self.url + "/auth/login", self.process, self.log).raise_for_status()
        return self

    def stop(self, sig: int = signal.SIGTERM) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        return self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required at {CHROMIUM} (apt-get install chromium).")
    PROBLEMS.clear()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        await launched.close()


class Cable:
    """The network between a page and the server's socket: ``cut()`` drops the page's
    connection and refuses new ones until ``restore()`` (a train through a tunnel)."""

    def __init__(self) -> None:
        self.connected = True
        self.routes: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    async def attach(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/_tidal/socket$"), self._route)

    async def _route(self, route: WebSocketRoute) -> None:
        if self.connected:
            self.routes.append((route, route.connect_to_server()))
        else:
            await route.close(code=4000, reason="no network")

    async def cut(self) -> None:
        self.connected = False
        for page_side, server_side in self.routes:
            await server_side.close(code=4000, reason="no network")
            await page_side.close(code=4000, reason="no network")
        self.routes.clear()

    def restore(self) -> None:
        self.connected = True


async def open_board(
    browser: Browser, base: str, username: str, board: int = 1, cable: Cable | None = None
) -> Page:
    """A new browser (context) where ``username`` logged in through the login page and
    opened the board; ``window.loadedOnce`` tells later whether the page ever reloaded."""
    context = await browser.new_context()
    page = watch(await context.new_page())
    if cable is not None:
        await cable.attach(page)
    await page.goto(f"{base}/auth/login?next=/boards/{board}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.stacked button[type=submit]")
    await page.wait_for_url(f"{base}/boards/{board}")
    await page.locator("#status[data-status=open]").wait_for()
    await page.evaluate("window.loadedOnce = true")
    return page


def card_in(page: Page, list_title: str, card_title: str) -> Locator:
    """The card ``card_title`` in the list ``list_title`` (matches nothing elsewhere)."""
    board_list = page.locator(".list", has=page.locator(".list-title", has_text=list_title))
    return board_list.locator(".card", has=page.get_by_role("link", name=card_title, exact=True))


async def titles(page: Page, list_title: str) -> list[str]:
    board_list = page.locator(".list", has=page.locator(".list-title", has_text=list_title))
    return await board_list.locator(".card-title").all_text_contents()


async def viewers(page: Page, count: int) -> list[str]:
    """The names shown as viewing the board, once there are ``count`` of them."""
    avatars = page.locator("#presence li")
    await expect(avatars).to_have_count(count, timeout=LIVE)
    names = await avatars.evaluate_all("(items) => items.map((item) => item.dataset.name)")
    return sorted(names)


async def join_refusal(page: Page, topic: str) -> str:
    """Try to join ``topic`` from ``page`` with tidal.js; the refusal's reason."""
    return str(
        await page.evaluate(
            """async (topic) => {
                const { connect } = await import("/_tidal/static/tidal/tidal.js");
                const socket = connect();
                try {
                    await socket.channel(topic).join();
                    return "joined";
                } catch (error) {
                    return error.message;
                } finally {
                    socket.disconnect();
                }
            }""",
            topic,
        )
    )


# -- the steps both browser tests take (on SQLite, and on PostgreSQL + Redis) ------------------


async def drag_a_card(mover: Page, watcher: Page) -> None:
    """``mover`` drags a card to the top of another list; ``watcher`` sees it there."""
    card = card_in(mover, "To do", "Invite the beta testers")
    target = card_in(mover, "Doing", "Fix the login redirect on Safari")
    await card.drag_to(target, target_position={"x": 20, "y": 4})
    await card_in(mover, "Doing", "Invite the beta testers").wait_for()
    await card_in(watcher, "Doing", "Invite the beta testers").wait_for(timeout=LIVE)
    expected = [
        "Invite the beta testers",
        "Fix the login redirect on Safari",
        "Design the onboarding e-mails",
    ]
    await _same_order(watcher, "Doing", expected)
    await _same_order(mover, "Doing", expected)
    assert await titles(watcher, "To do") == [
        "Write the launch announcement",
        "Record a two-minute demo video",
    ]


async def move_with_keys(mover: Page, watcher: Page) -> None:
    """``mover`` moves a focused card with Shift + arrow keys, then with its buttons."""
    await card_in(mover, "Done", "Choose a name").focus()
    await mover.keyboard.press("Shift+ArrowLeft")  # to Doing, same place (second)
    await card_in(watcher, "Doing", "Choose a name").wait_for(timeout=LIVE)
    await mover.keyboard.press("Shift+ArrowUp")  # and up to the top
    expected = [
        "Choose a name",
        "Invite the beta testers",
        "Fix the login redirect on Safari",
        "Design the onboarding e-mails",
    ]
    await _same_order(watcher, "Doing", expected)
    assert (
        await mover.evaluate("document.activeElement.querySelector('.card-title').textContent")
        == "Choose a name"
    )
    # The buttons do the same for the mouse: back to Done.
    card = card_in(mover, "Doing", "Choose a name")
    await card.hover()
    await card.get_by_role("button", name="Move to the next list").click()
    await card_in(watcher, "Done", "Choose a name").wait_for(timeout=LIVE)


async def add_a_card(writer: Page, watcher: Page | None, title: str) -> None:
    """``writer`` adds a card with the form at the bottom of "To do"."""
    todo = writer.locator(".list", has=writer.locator(".list-title", has_text="To do"))
    field = todo.get_by_label("New card title")
    await field.fill(title)
    await field.press("Enter")
    await card_in(writer, "To do", title).wait_for()
    await expect(field).to_have_value("")
    if watcher is not None:
        await card_in(watcher, "To do", title).wait_for(timeout=LIVE)


async def comment_live(writer: Page, reader: Page, base: str) -> None:
    """A comment posted on a card's page shows on another member's page of that card, and
    the card's comment count on the board pages follows."""
    writer_card = watch(await writer.context.new_page())
    reader_card = watch(await reader.context.new_page())
    for page in (writer_card, reader_card):
        await page.goto(f"{base}/cards/4")  # "Fix the login redirect on Safari"
        await page.locator("#status[data-status=open]").wait_for()
    await writer_card.get_by_label("Comment").fill("Shipped in 1.2.1")
    await writer_card.get_by_role("button", name="Comment").click()
    await expect(reader_card.locator("#comment-list li").last).to_contain_text(
        "Shipped in 1.2.1", timeout=LIVE
    )
    await expect(writer_card.locator("#comment-list li")).to_have_count(3)
    badge = card_in(reader, "Doing", "Fix the login redirect on Safari").locator(".comments")
    await expect(badge).to_have_text("3", timeout=LIVE)
    await writer_card.close()
    await reader_card.close()


async def _same_order(page: Page, list_title: str, expected: list[str]) -> None:
    board_list = page.locator(".list", has=page.locator(".list-title", has_text=list_title))
    await expect(board_list.locator(".card-title")).to_have_text(expected, timeout=LIVE)


async def sign_up(browser: Browser, base: str, username: str) -> Page:
    context = await browser.new_context()
    page = watch(await context.new_page())
    await page.goto(f"{base}/signup")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "a long and unusual passphrase")
    await page.fill("input[name=password_again]", "a long and unusual passphrase")
    await page.click("form.stacked button[type=submit]")
    await page.wait_for_url(f"{base}/boards")
    return page


async def refused_to(outsider: Page, base: str) -> None:
    """A user who is not a member gets 404 for the board and cannot join its channel."""
    answer = await outsider.goto(f"{base}/boards/1")
    assert answer is not None
    assert answer.status == 404
    await outsider.goto(f"{base}/boards")
    assert await join_refusal(outsider, "board:1") == "You are not a member of this board."


async def log_out_ends_the_session(user: Page, base: str) -> None:
    """Logging out in another tab closes this page's socket; it goes to the login page,
    and so does every board page after that."""
    other_tab = watch(await user.context.new_page())
    await other_tab.goto(f"{base}/cards/1")
    await other_tab.get_by_role("button", name="Log out").click()
    await other_tab.wait_for_url(re.compile(r"/auth/login"))
    await user.wait_for_url(re.compile(r"/auth/login\?next="), timeout=LIVE)
    again = await user.goto(f"{base}/boards/1")
    assert again is not None
    assert again.url.startswith(f"{base}/auth/login")


__all__ = [
    "LIVE",
    "PROBLEMS",
    "Cable",
    "Demo",
    "add_a_card",
    "browser",
    "card_in",
    "comment_live",
    "drag_a_card",
    "join_refusal",
    "log_out_ends_the_session",
    "move_with_keys",
    "open_board",
    "refused_to",
    "sign_up",
    "titles",
    "viewers",
]
