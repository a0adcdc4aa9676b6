"""Take docs/board.png: the seeded demo board as the demo user sees it while sam is also
looking at it (two browser contexts, so presence shows both).

Run from the repository root: ``.venv/bin/python examples/board/screenshot.py``. It starts
``tidal demo`` on a free port with its data in a temporary folder, drives Debian's
Chromium (/usr/bin/chromium; Playwright never downloads a browser here) and stops the
server afterwards.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "board.png"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "tidal-demo-board"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_demo(folder: Path, port: int) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("tidal")), "demo", "--dir", str(folder)]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/auth/login", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("tidal demo did not start")


async def open_board(browser: Browser, base: str, username: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 560})
    page = await context.new_page()
    await page.goto(f"{base}/auth/login?next=/boards/1")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#status[data-status=open]")
    return page


async def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = start_demo(Path(folder), port)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                base = f"http://127.0.0.1:{port}"
                demo = await open_board(browser, base, "demo")
                await open_board(browser, base, "sam")
                await demo.wait_for_selector("#presence li:nth-child(2)")
                await demo.screenshot(path=str(OUTPUT))
                await browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)
    print(f"Wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
