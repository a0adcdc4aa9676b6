"""``tidal new``: the generated project, down to running it and its own tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import Result

from tidal.cli.new import SCAFFOLD, destination, template_files

Invoke = Callable[..., Result]

EXPECTED_FILES = {
    ".env",
    ".gitignore",
    "README.md",
    "app.py",
    "home/__init__.py",
    "home/routes.py",
    "home/static/home/site.css",
    "home/templates/home/base.html",
    "home/templates/home/index.html",
    "pyproject.toml",
    "tests/test_home.py",
}


def files_of(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and ".pytest_cache" not in path.parts
    }


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_creates_the_project(invoke: Invoke, workdir: Path) -> None:
    result = invoke("new", "site")  # named like a stdlib module: the folder is no package
    assert result.exit_code == 0, result.output
    project = workdir / "site"
    assert files_of(project) == EXPECTED_FILES
    assert "cd site" in result.output
    assert "tidal run" in result.output

    env = dict(
        line.split("=", 1)
        for line in (project / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["TIDAL_DEBUG"] == "true"
    assert env["TIDAL_ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    assert len(env["TIDAL_SECRET_KEY"]) >= 60
    assert (project / ".env").stat().st_mode & 0o777 == 0o600
    assert ".env" in (project / ".gitignore").read_text().splitlines()

    config = tomllib.loads((project / "pyproject.toml").read_text())
    assert config["project"]["name"] == "site"
    options = config["tool"]["pytest"]["ini_options"]
    assert options["asyncio_mode"] == "auto"
    assert options["tidal_app"] == "app:app"
    assert options["asyncio_default_fixture_loop_scope"] == "function"

    assert 'Tidal(apps=["home"])' in (project / "app.py").read_text()
    index = (project / "home/templates/home/index.html").read_text()
    assert "Welcome to site" in index
    assert "$" not in index
    assert "# site" in (project / "README.md").read_text()
    assert not (project / "__init__.py").exists()


def test_each_project_gets_its_own_secret(invoke: Invoke, workdir: Path) -> None:
    invoke("new", "one")
    invoke("new", "two")
    assert (workdir / "one/.env").read_text() != (workdir / "two/.env").read_text()


def test_directory_option(invoke: Invoke, workdir: Path) -> None:
    (workdir / "empty").mkdir()
    result = invoke("new", "blog", "--directory", "empty")
    assert result.exit_code == 0, result.output
    assert "cd empty" in result.output
    assert files_of(workdir / "empty") == EXPECTED_FILES
    assert 'name = "blog"' in (workdir / "empty/pyproject.toml").read_text()


def test_refuses_a_non_empty_folder(invoke: Invoke, workdir: Path) -> None:
    (workdir / "site").mkdir()
    (workdir / "site/notes.txt").write_text("mine")
    result = invoke("new", "site")
    assert result.exit_code == 1
    assert "already exists and is not empty" in result.output
    assert files_of(workdir / "site") == {"notes.txt"}


def test_refuses_a_file_in_the_way(invoke: Invoke, workdir: Path) -> None:
    (workdir / "site").write_text("a file")
    assert invoke("new", "site").exit_code == 1


@pytest.mark.parametrize(
    "name", ["my site", "1st", "-flag", "../escape", "a/b", "trailing-", "", "tidal", "naïve"]
)
def test_refuses_invalid_names(invoke: Invoke, workdir: Path, name: str) -> None:
    result = invoke("new", "--", name)
    assert result.exit_code == 2
    assert "Invalid value for NAME" in result.output
    assert list(workdir.iterdir()) == []


def test_template_naming_rules() -> None:
    assert destination(Path("dot-env.tmpl")) == Path(".env")
    assert destination(Path("home/templates/home/index.html.tmpl")) == Path(
        "home/templates/home/index.html"
    )
    assert destination(Path("home/routes.py")) == Path("home/routes.py")
    assert all("__pycache__" not in path.parts for path in template_files())
    assert {destination(path).as_posix() for path in template_files(SCAFFOLD)} == EXPECTED_FILES


# -- end to end: the generated project runs and passes its own tests ------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tidal_executable() -> str:
    script = Path(sys.executable).parent / "tidal"
    found = str(script) if script.exists() else shutil.which("tidal")
    assert found, "the tidal console script is not installed"
    return found


@pytest.fixture
def site(invoke: Invoke, workdir: Path) -> Path:
    assert invoke("new", "site").exit_code == 0
    return workdir / "site"


def test_generated_project_serves_pages(site: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [tidal_executable(), "run", "--port", str(port)],
        cwd=site,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        page = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                page = httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page is not None, "the server did not answer within 30 s"
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Welcome to site</h1>" in page.text
        assert "Your Tidal project is up and running." in page.text
        assert 'href="/static/home/site.css"' in page.text

        css = httpx.get(base + "/static/home/site.css", timeout=5)
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert ".hero" in css.text

        health = httpx.get(base + "/api/health", timeout=5)
        assert health.json() == {"status": "ok"}
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert f"serving app:app at http://127.0.0.1:{port}" in output
    assert '"path":"/static/home/site.css","status":200' in output  # Tidal's access log
    assert '"GET /static/home/site.css HTTP/1.1" 200' not in output  # not uvicorn's
    assert "Traceback" not in output


def test_generated_project_passes_its_tests(site: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_run_without_settings_fails_fast(site: Path) -> None:
    (site / ".env").write_text("TIDAL_DEBUG=false\nTIDAL_ALLOWED_HOSTS=example.com\n")
    done = subprocess.run(
        [tidal_executable(), "run", "--port", str(free_port())],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "security.E001" in done.stderr
    assert "Traceback" not in done.stderr
