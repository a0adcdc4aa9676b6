"""docs/tutorial.md, followed as written: its project (docs/examples/tutorial_board) copied
to a fresh folder, the migration made and applied with `tidal db`, two users created, the
project's own tests run, and `tidal run` serving it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from ..realtime.servers import free_port
from .conftest import wait_for_server

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "tutorial_board"
TIDAL = Path(sys.executable).with_name("tidal")
PASSWORD = "correct horse battery staple"


def run(folder: Path, *command: str | Path) -> str:
    """A command in the project folder, with none of the test run's TIDAL_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
    done = subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_tutorial_as_written(tmp_path: Path) -> None:
    site = tmp_path / "kanban-site"
    shutil.copytree(TUTORIAL, site, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3*"))
    assert not (site / "kanban" / "migrations").exists()  # step 3 makes it

    made = run(site, TIDAL, "db", "makemigrations", "-m", "initial")
    assert made == "Created kanban/migrations/kanban_0001_initial.py\n"
    applied = run(site, TIDAL, "db", "migrate")
    assert applied.splitlines() == [
        "Applied realtime_0001",
        "Applied sessions_0001",
        "Applied auth_0001",
        "Applied kanban_0001",
    ]
    for name in ("ann", "bob"):
        run(site, TIDAL, "createuser", "--username", name, "--password", PASSWORD)

    tests = run(site, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert "3 passed" in tests

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [TIDAL, "run", "--port", str(port)], cwd=site, env=env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for_server(f"{base}/auth/login", server, log).status_code == 200
        with httpx.Client(base_url=base) as browser:
            token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/auth/login").text)
            assert token is not None
            form = {"username": "ann", "password": PASSWORD, "csrf_token": token.group(1)}
            assert browser.post("/auth/login", data=form).status_code == 303
            page = browser.get("/")
            assert "<h1>Your boards</h1>" in page.text
            assert browser.get("/static/kanban/kanban.js").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in log.read_text()
