"""``tidal demo``: where it keeps its data, seeding (once), and the command serving the
board for real."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tidal.cli.demo import demo_environment, prepare

from ..realtime.servers import free_port
from .conftest import PASSWORD, load_project, wait_for_server


def test_the_demo_keeps_its_data_in_its_folder(tmp_path: Path) -> None:
    env = demo_environment(tmp_path, "127.0.0.1", environ={})
    assert env["TIDAL_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    assert env["TIDAL_ALLOWED_HOSTS"] == "localhost,127.0.0.1,[::1]"
    assert env["TIDAL_DEBUG"] == "false"
    secret = tmp_path / "secret-key"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert env["TIDAL_SECRET_KEY"] == secret.read_text()
    assert len(env["TIDAL_SECRET_KEY"]) >= 50
    # The same key on the next run (sessions survive a restart); set variables win.
    again = demo_environment(tmp_path, "0.0.0.0", environ={"TIDAL_DATABASE_URL": "postgresql://db"})
    assert again["TIDAL_SECRET_KEY"] == env["TIDAL_SECRET_KEY"]
    assert "TIDAL_DATABASE_URL" not in again
    assert again["TIDAL_ALLOWED_HOSTS"] == "*"
    assert demo_environment(tmp_path, "10.0.0.7", environ={})["TIDAL_ALLOWED_HOSTS"].endswith(
        ",10.0.0.7"
    )


def test_seeding_creates_the_demo_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_project(demo_environment(tmp_path, "127.0.0.1", environ={}), monkeypatch)
    first = prepare(app)
    assert (first.usernames, first.password, first.created) == (("demo", "sam"), PASSWORD, True)
    second = prepare(app)
    assert (second.created, second.board_id) == (False, first.board_id)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        users = [row[0] for row in db.execute("SELECT username FROM auth_user ORDER BY id")]
        boards = [row[0] for row in db.execute("SELECT title FROM boards ORDER BY id")]
        cards = db.execute("SELECT count(*) FROM cards WHERE board_id = ?", (first.board_id,))
        assert users == ["demo", "sam"]
        assert boards == ["Launch plan", "Sam's reading list"]
        assert cards.fetchone() == (7,)
    assert prepare(app, seed=False) is None


def test_tidal_demo_serves_the_board(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
    tidal_command = Path(sys.executable).with_name("tidal")
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [tidal_command, "demo", "--dir", tmp_path / "data", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        login = wait_for_server(f"{base}/auth/login", server, log)
        assert login.status_code == 200
        assert "<h1>Log in</h1>" in login.text
        with httpx.Client(base_url=base) as browser:
            token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/auth/login").text)
            assert token is not None
            form = {"username": "demo", "password": PASSWORD, "csrf_token": token.group(1)}
            boards = browser.post("/auth/login", data=form, follow_redirects=True)
            assert "Launch plan" in boards.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    output = log.read_text()
    assert f"open      http://127.0.0.1:{port}" in output
    assert f"log in as demo / {PASSWORD}" in output
    assert (tmp_path / "data" / "db.sqlite3").is_file()
    assert not (tmp_path / "db.sqlite3").exists()
    assert "Traceback" not in output
