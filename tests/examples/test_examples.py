"""The examples in docs/examples/, checked against the outputs the documentation shows,
and the documentation checked against the examples (every code block is an exact copy)."""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.examples.support import APPS_PROJECT, EXAMPLES, ROOT, SECRET, app_of, load
from tidal import Request, Settings, Tidal
from tidal.exceptions import ImproperlyConfigured, NoReverseMatch, TidalError
from tidal.testing import LifespanError, TestClient

# -- index.md / quickstart: hello.py ---------------------------------------------------


async def test_hello() -> None:
    async with TestClient(app_of("hello")) as client:
        index = await client.get("/")
        assert index.status_code == 200
        assert index.headers["content-type"] == "application/json"
        assert index.json() == {"message": "Hello from Tidal"}
        assert (await client.get("/hello/Ada")).text == "Hello, Ada."
        assert (await client.get("/hello/Ada?excited=true")).text == "Hello, Ada!"
        invalid = await client.get("/hello/Ada?excited=maybe")
        assert invalid.status_code == 422
        assert invalid.json()["errors"] == [
            {"path": "excited", "message": "Expected `bool`, got `str`", "in": "query"}
        ]


async def test_start_up_refuses_missing_secret_key_unless_debug() -> None:
    app = app_of("hello", env={})
    with pytest.raises(ImproperlyConfigured) as caught:
        app.build()
    message = str(caught.value)
    assert "(security.E001) TIDAL_SECRET_KEY is not set." in message
    assert "(security.E003) TIDAL_ALLOWED_HOSTS is empty" in message
    with pytest.raises(LifespanError, match=r"security\.E001"):
        async with TestClient(app):
            pass


async def test_production_settings_from_environment() -> None:
    env = {"TIDAL_SECRET_KEY": SECRET, "TIDAL_ALLOWED_HOSTS": "testserver,example.com"}
    app = app_of("hello", env=env)
    assert app.settings.debug is False
    assert app.settings.allowed_hosts == ["testserver", "example.com"]
    async with TestClient(app) as client:
        assert (await client.get("/")).json() == {"message": "Hello from Tidal"}


# -- topics/routing.md -----------------------------------------------------------------


async def test_routing_basics() -> None:
    app = app_of("routing_basics")
    async with TestClient(app) as client:
        assert (await client.get("/articles")).json() == [{"id": 1, "title": "Tides"}]
        created = await client.post("/articles")
        assert (created.status_code, created.json()) == (201, {"id": 2})
        assert (await client.get("/articles/7")).json() == {
            "id": 7,
            "path": "/articles/7",
            "absolute": "http://testserver/articles/7",
        }
        assert (await client.get("/articles/seven")).status_code == 404
        assert (await client.put("/articles/7/like")).json() == {"id": 7, "liked": True}
        assert (await client.delete("/articles/7/like")).json() == {"id": 7, "liked": False}
        assert (await client.get("/files/a/b/c.txt")).json() == {"path": "a/b/c.txt"}
        assert (await client.get("/tags/high-tide_2")).json() == {"tag": "high-tide_2"}
        assert (await client.get("/tags/high tide")).status_code == 404
        order = "12345678-1234-5678-1234-567812345678"
        assert (await client.get(f"/orders/{order}")).json() == {"order": order.replace("-", "")}
        assert (await client.get("/prices/2.50")).json() == {"amount": 2.5}
        assert (await client.get("/prices/-1")).status_code == 404
        assert (await client.get("/pages/3")).json() == {"page": 3}
        bad_page = await client.get("/pages/three")
        assert bad_page.status_code == 422
        assert bad_page.json()["errors"] == [
            {"path": "number", "message": "Expected `int`, got `str`", "in": "path"}
        ]
        head = await client.head("/articles")
        assert (head.status_code, head.content) == (200, b"")
    assert app.url_path_for("show_article", article_id=3) == "/articles/3"
    assert app.url_path_for("like", article_id=3) == "/articles/3/like"
    assert app.url_path_for("show_file", file_path="a/b.txt") == "/files/a/b.txt"
    with pytest.raises(NoReverseMatch, match="No route named 'nope'"):
        app.url_path_for("nope")
    with pytest.raises(NoReverseMatch, match="does not fit"):
        app.url_path_for("show_article", article_id="seven")
    with pytest.raises(NoReverseMatch, match=r"takes parameters \['article_id'\], got \[\]"):
        app.url_path_for("show_article")


async def test_not_found_and_method_not_allowed() -> None:
    async with TestClient(app_of("routing_basics")) as client:
        missing = await client.get("/nowhere")
        wrong = await client.patch("/articles")
        page = await client.get("/nowhere", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "title": "Not Found",
        "status": 404,
        "detail": "No page or endpoint at '/nowhere'. Run `tidal routes` to list them.",
        "request_id": missing.headers["x-request-id"],
    }
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    assert wrong.json()["detail"] == "Method not allowed here; allowed: GET, HEAD, POST."
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in page.text


async def test_custom_converter() -> None:
    app = app_of("custom_converter")
    async with TestClient(app) as client:
        day = await client.get("/diary/2024-02-29")
        assert day.json() == {"weekday": "Thursday", "next": "/diary/2024-03-01"}
        # Matches the regex, but parse() raises ValueError: treated as no match.
        assert (await client.get("/diary/2024-02-30")).status_code == 404
        assert (await client.get("/diary/yesterday")).status_code == 404


async def test_route_groups() -> None:
    app = app_of("route_groups")
    key = {"X-API-Key": "let-me-in"}
    async with TestClient(app) as client:
        assert (await client.get("/")).json() == {"api": "/api", "stats": "/api/admin/stats"}
        refused = await client.get("/api")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "Send a valid X-API-Key header."
        assert (await client.get("/api", headers=key)).json() == {"version": "1"}
        # A group's "/" route is the prefix itself; the trailing slash is another path.
        assert (await client.get("/api/", headers=key)).status_code == 404
        board = await client.get("/api/boards/4", headers=key)
        assert board.json() == {"id": 4, "url": "/api/boards/4"}
        assert (await client.get("/api/admin/stats")).status_code == 401
        assert (await client.get("/api/admin/stats", headers=key)).json() == {"boards": 1}
    tags = {route.name: route.tags for route in app.route_table.routes}
    assert tags["api:show_board"] == ["api"]
    assert tags["api:admin:stats"] == ["api", "admin"]
    assert tags["home"] == []


async def test_mounting() -> None:
    app = app_of("mounting")
    async with TestClient(app) as client:
        assert (await client.get("/reports")).json() == {"app": "reports"}
        assert (await client.get("/reports/daily/monday")).json() == {"report": "monday"}
        legacy = await client.get("/legacy/old/page")
        assert legacy.text == "legacy path=/legacy/old/page root_path=/legacy"
        assert (await client.get("/")).json() == {"daily": "/reports/daily/monday"}
    assert app.url_path_for("reports:daily", day="friday") == "/reports/daily/friday"
    assert app.url_path_for("legacy") == "/legacy"
    assert app.url_path_for("legacy", path="old/page") == "/legacy/old/page"


# -- topics/handlers.md ----------------------------------------------------------------


async def test_parameters() -> None:
    async with TestClient(app_of("parameters")) as client:
        everything = await client.get(
            "/boards/3/cards?search=bug&limit=5&label=ui&label=api",
            headers={"User-Agent": "probe/1.0", "Cookie": "theme=dark"},
        )
        assert everything.json() == {
            "board": 3,
            "search": "bug",
            "limit": 5,
            "labels": ["ui", "api"],
            "agent": "probe/1.0",
            "theme": "dark",
        }
        defaults = await client.get("/boards/3/cards", headers={"User-Agent": "probe/1.0"})
        assert defaults.json()["search"] is None
        assert defaults.json()["limit"] == 20
        assert defaults.json()["labels"] == []
        assert defaults.json()["theme"] == "light"
        bad = await client.get("/boards/3/cards?limit=many")
        assert bad.status_code == 422
        assert bad.json()["errors"] == [
            {"path": "limit", "message": "Expected `int`, got `str`", "in": "query"}
        ]
        card = await client.post("/boards/3/cards", json={"title": "Fix login"})
        assert card.status_code == 201
        assert card.json() == {
            "board": 3,
            "card": {"title": "Fix login", "points": 1, "labels": []},
        }
        found = await client.get("/search?q=tide", headers={"X-Trace-Id": "t-1"})
        assert found.json() == {"q": "tide", "year": 2024, "trace": "t-1"}
        too_old = await client.get("/search?q=tide&year=1999")
        assert too_old.json()["errors"] == [
            {"path": "year", "message": "Expected `int` >= 2000", "in": "query"}
        ]
        assert (await client.get("/archive?page=2&size=50")).json() == {"page": 2, "size": 50}
        assert (await client.get("/archive")).json() == {"page": 1, "size": 20}
        too_big = await client.get("/archive?size=500")
        assert too_big.json()["errors"] == [
            {"path": "size", "message": "Expected `int` <= 100", "in": "query"}
        ]
        missing = await client.get("/search")
        assert missing.json()["errors"] == [
            {"path": "q", "message": "Missing required query value.", "in": "query"}
        ]
        note = await client.put("/notes/5", content="high tide at six")
        assert note.text == "note 5: high tide at six"


async def test_injection() -> None:
    app = app_of("injection")
    async with TestClient(app) as client:
        about = await client.get("/about", headers={"X-Request-ID": "req-42"})
        assert about.json() == {
            "path": "/about",
            "request_id": "req-42",
            "debug": True,
            "same_app": True,
        }
        first = (await client.get("/tick")).json()["tick"]
        assert (await client.get("/tick")).json() == {"tick": first + 1}
        assert (await client.get("/untyped?name=tidal")).json() == {
            "method": "GET",
            "name": "tidal",
        }


async def test_dependencies() -> None:
    module = load("dependencies")
    events: list[str] = module.events
    admin = {"X-User": "admin"}
    async with TestClient(module.app) as client:
        events.clear()
        added = await client.post("/cards?title=Write+docs", headers={"X-User": "ann"})
        assert added.json() == {"title": "Write docs", "by": "ann"}
        assert events == ["begin", "current_user", "commit ['Write docs']"]

        events.clear()
        duplicate = await client.post("/cards?title=todo", headers={"X-User": "ann"})
        assert duplicate.status_code == 409
        assert duplicate.json()["detail"] == "A card with this title already exists."
        assert events == ["begin", "current_user", "rollback"]

        events.clear()
        anonymous = await client.post("/cards?title=x")
        assert anonymous.status_code == 403
        assert events == ["begin", "current_user", "rollback"]

        events.clear()
        refused = await client.delete("/cards/1", headers={"X-User": "ann"})
        assert (refused.status_code, refused.json()["detail"]) == (403, "Admins only.")
        deleted = await client.delete("/cards/1", headers=admin)
        assert (deleted.status_code, deleted.content) == (204, b"")
        # One current_user call per request, shared by the guard and the handler.
        assert events == ["current_user", "current_user", "deleted 1 by admin"]


async def test_blocking() -> None:
    async with TestClient(app_of("blocking")) as client:
        assert (await client.get("/report")).json() == {"in_main_thread": False}
        stretched = await client.get("/stretch/tide?rounds=3")
        assert stretched.json() == {"word": "tide", "digest": _stretch("tide", 3)}
        too_many = await client.get("/stretch/tide?rounds=2000000")
        assert too_many.status_code == 400
        assert too_many.json()["detail"] == "At most 1,000,000 rounds."


def _stretch(word: str, rounds: int) -> str:
    import hashlib

    digest = word.encode()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()[:16]


def _hash_with_request(request: Request) -> str:
    return request.url.path


def test_cpu_bound_rules() -> None:
    coroutine = Tidal(settings={"debug": True})

    @coroutine.get("/work", cpu_bound=True)
    async def work() -> None: ...

    with pytest.raises(ImproperlyConfigured, match="cpu_bound=True needs a plain `def`"):
        coroutine.build()

    closure = Tidal(settings={"debug": True})

    @closure.get("/work", cpu_bound=True)
    def local_work() -> None: ...

    with pytest.raises(ImproperlyConfigured, match="must be module-level functions"):
        closure.build()

    needs_request = Tidal(settings={"debug": True})
    needs_request.get("/work", cpu_bound=True)(_hash_with_request)
    with pytest.raises(ImproperlyConfigured, match=r"taking plain values \(not \['request'\]\)"):
        needs_request.build()


async def test_returns() -> None:
    async with TestClient(app_of("returns")) as client:
        answer = await client.get("/dict")
        assert (answer.headers["content-type"], answer.json()) == (
            "application/json",
            {"answer": 42},
        )
        assert (await client.get("/struct")).json() == {"id": 1, "title": "Roadmap"}
        text = await client.get("/text")
        assert (text.headers["content-type"], text.text) == (
            "text/plain; charset=utf-8",
            "plain words",
        )
        raw = await client.get("/bytes")
        assert (raw.headers["content-type"], raw.content) == (
            "application/octet-stream",
            b"\x89PNG",
        )
        nothing = await client.delete("/boards/1")
        assert (nothing.status_code, nothing.content) == (204, b"")
        created = await client.post("/boards")
        assert (created.status_code, created.json()) == (201, {"id": 2, "title": "New"})
        page = await client.get("/page")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.text == "<h1>Roadmap</h1>"
        csv = await client.get("/csv")
        assert csv.headers["content-type"] == "text/csv; charset=utf-8"
        assert csv.headers["x-rows"] == "1"
        assert (await client.get("/numbers")).text == "0\n1\n2\n"
        moved = await client.post("/login")
        assert (moved.status_code, moved.headers["location"]) == (303, "/boards")


# -- topics/errors.md ------------------------------------------------------------------


async def test_http_errors() -> None:
    async with TestClient(app_of("http_errors")) as client:
        missing = await client.get("/boards/9")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json() == {
            "title": "Not Found",
            "status": 404,
            "detail": "No board 9.",
            "request_id": missing.headers["x-request-id"],
        }
        teapot = await client.get("/teapot")
        assert (teapot.status_code, teapot.headers["x-brew"]) == (418, "tea")
        assert teapot.json()["title"] == "I'm a Teapot"
        busy = await client.get("/busy")
        assert (busy.status_code, busy.headers["retry-after"]) == (429, "30")
        page = await client.get("/boards/9", headers={"Accept": "text/html"})
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>404 Not Found</h1><p>No board 9.</p>" in page.text


async def test_bad_input() -> None:
    async with TestClient(app_of("http_errors")) as client:
        ok = await client.post("/orders", json={"item": "tea", "quantity": 2, "address": "Pier 1"})
        assert ok.status_code == 201

        malformed = await client.post(
            "/orders", content=b'{"item": "tea",', headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["detail"].startswith("The request body is not valid JSON: ")

        huge = await client.post(
            "/orders", content=b"x" * 2000, headers={"Content-Type": "application/json"}
        )
        assert huge.status_code == 413
        assert huge.json()["detail"] == (
            "The request body (2000 bytes) is larger than the limit of 1024 bytes "
            "(TIDAL_MAX_BODY_SIZE)."
        )

        form = await client.post("/orders", data={"item": "tea"})
        assert form.status_code == 415
        assert form.json()["detail"] == (
            "Expected a JSON body (Content-Type: application/json), got "
            "application/x-www-form-urlencoded."
        )

        invalid = await client.post("/orders", json={"item": "tea", "quantity": "two"})
        assert invalid.status_code == 422
        body = invalid.json()
        assert body == {
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "2 invalid fields.",
            "errors": [
                {"path": "$.quantity", "message": "Expected `int`, got `str`", "in": "body"},
                {"path": "$.address", "message": "Object missing required field", "in": "body"},
            ],
            "request_id": invalid.headers["x-request-id"],
        }

        empty = await client.post("/orders")
        assert empty.json()["errors"] == [
            {"path": "$", "message": "The request body is required.", "in": "body"}
        ]

        rule = await client.post("/orders", json={"item": "tea", "quantity": 0, "address": "-"})
        assert rule.status_code == 422
        assert rule.json()["errors"] == [
            {"path": "$.quantity", "message": "Must be at least 1.", "in": "body"}
        ]


async def test_server_error_in_production(caplog: pytest.LogCaptureFixture) -> None:
    env = {"TIDAL_SECRET_KEY": SECRET, "TIDAL_ALLOWED_HOSTS": "testserver"}
    async with TestClient(app_of("http_errors", env=env)) as client:
        with caplog.at_level(logging.ERROR, logger="tidal.request"):
            crash = await client.get("/crash", headers={"X-Request-ID": "req-7"})
    assert crash.status_code == 500
    assert crash.json() == {
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server hit an unexpected error.",
        "request_id": "req-7",
    }
    assert "the database is on fire" not in crash.text
    assert "Unhandled error in GET /crash (request id req-7)" in caplog.text
    assert "RuntimeError: the database is on fire" in caplog.text


async def test_server_error_in_debug(caplog: pytest.LogCaptureFixture) -> None:
    async with TestClient(app_of("http_errors")) as client:
        with caplog.at_level(logging.CRITICAL, logger="tidal.request"):
            plain = await client.get("/crash")
            page = await client.get("/crash", headers={"Accept": "text/html"})
    assert (plain.status_code, plain.headers["content-type"]) == (
        500,
        "text/plain; charset=utf-8",
    )
    assert plain.text.startswith("Traceback (most recent call last):")
    assert plain.text.rstrip().endswith("RuntimeError: the database is on fire")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>500 Internal Server Error (debug)</h1>" in page.text
    assert "This page is shown because TIDAL_DEBUG is on." in page.text


async def test_request_ids() -> None:
    async with TestClient(app_of("http_errors")) as client:
        kept = await client.get("/boards/1", headers={"X-Request-ID": "trace-abc.1"})
        assert kept.headers["x-request-id"] == "trace-abc.1"
        replaced = await client.get("/boards/1", headers={"X-Request-ID": "<script>"})
        assert replaced.headers["x-request-id"] != "<script>"
        assert len(replaced.headers["x-request-id"]) == 16


# -- topics/middleware.md --------------------------------------------------------------


async def test_middleware() -> None:
    module = load("server_timing")
    async with TestClient(module.app) as client:
        report = await client.get(
            "/report",
            headers={"Accept-Encoding": "gzip", "Origin": "https://app.example.com"},
        )
        assert report.headers["server-timing"].startswith("tidal;dur=")
        assert report.headers["content-encoding"] == "gzip"
        assert report.headers["access-control-allow-origin"] == "https://app.example.com"
        assert report.headers["access-control-allow-credentials"] == "true"
        assert report.text == "tide table\n" * 100
        assert int(report.headers["content-length"]) < 100

        preflight = await client.options(
            "/report",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "GET",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        other = await client.get("/report", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers

        module.Maintenance.enabled = True
        try:
            closed = await client.get("/report")
            from_front = await client.get("/report", headers={"Origin": "https://app.example.com"})
        finally:
            module.Maintenance.enabled = False
        assert from_front.status_code == 503
        assert from_front.headers["access-control-allow-origin"] == "https://app.example.com"
        assert closed.status_code == 503
        assert closed.headers["retry-after"] == "300"
        assert closed.json()["detail"] == "Back in five minutes."
        # Raised inside ServerTiming, so the error response skipped it.
        assert "server-timing" not in closed.headers


async def test_gzip_skips_small_bodies() -> None:
    async with TestClient(app_of("server_timing")) as client:
        small = await client.get("/nowhere", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


# -- topics/apps.md --------------------------------------------------------------------


async def test_installed_app() -> None:
    app = app_of("project")
    async with TestClient(app) as client:
        assert (await client.get("/notes")).json() == []
        added = await client.post("/notes?text=Buy+rope")
        assert (added.status_code, added.json()) == (201, {"id": 1, "text": "Buy rope"})
        assert (await client.get("/notes")).json() == [{"id": 1, "text": "Buy rope"}]
        await client.post("/notes", params={"text": "<b>knots</b>"})
        page = await client.get("/notes/page")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert '<link rel="stylesheet" href="/static/notes/notes.css">' in page.text
        assert "<li>Buy rope</li><li>&lt;b&gt;knots&lt;/b&gt;</li>" in page.text
        css = await client.get("/static/notes/notes.css")
        assert css.headers["content-type"].startswith("text/css")
    assert app.url_path_for("notes:list_notes") == "/notes"
    (config,) = app.apps
    assert type(config).__name__ == "NotesConfig"
    assert config.label == "notes"
    assert config.templates_dir == APPS_PROJECT / "notes" / "templates"
    assert config.static_dir == APPS_PROJECT / "notes" / "static"
    assert [command.name for command in config.commands] == ["count-notes"]
    assert [m.id for m in app.run_checks()] == ["notes.W001"]


def test_installed_app_typo() -> None:
    with pytest.raises(ImproperlyConfigured, match="Installed app 'nots' cannot be imported"):
        Tidal(apps=["nots"], settings={"debug": True})


async def test_running_without_http() -> None:
    app = app_of("hello")
    async with app.running() as running:
        assert running is app
        assert app.url_path_for("hello", name="Ada") == "/hello/Ada"


def test_settings_object_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDAL_DEBUG", "true")
    assert Tidal(settings={"title": "Tides"}).settings.debug is True
    assert Tidal(settings=Settings(title="Tides")).settings.debug is False


def _pytest_in(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run a project's tests the way its developer would, with only its own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_quickstart(tmp_path: Path) -> None:
    tidal_command = Path(sys.executable).with_name("tidal")
    subprocess.run(
        [tidal_command, "new", "site"], cwd=tmp_path, check=True, timeout=60, capture_output=True
    )
    site = tmp_path / "site"
    quickstart = EXAMPLES / "quickstart"
    # The page says "add greet() at the end of home/routes.py": the rest is unchanged.
    scaffold = (site / "home" / "routes.py").read_text(encoding="utf-8")
    edited = (quickstart / "home" / "routes.py").read_text(encoding="utf-8")
    assert edited.startswith(scaffold)
    shutil.copy(quickstart / "home" / "routes.py", site / "home" / "routes.py")
    shutil.copy(quickstart / "tests" / "test_greet.py", site / "tests" / "test_greet.py")
    result = _pytest_in(site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def test_testing_project_runs_with_the_plugin(tmp_path: Path) -> None:
    project = tmp_path / "site"
    shutil.copytree(EXAMPLES / "testing_project", project)
    result = _pytest_in(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


# -- docs are in sync with the examples and the code ------------------------------------

INCLUDE = "<!-- example: "
DOCS = ROOT / "docs"
# The pages this suite keeps in sync; other pages are written alongside their parts.
OWN_PAGES = [
    "index.md",
    "quickstart.md",
    "topics/routing.md",
    "topics/handlers.md",
    "topics/errors.md",
    "topics/testing.md",
    "topics/apps.md",
    "topics/middleware.md",
    "ref/errors.md",
    "ref/settings.md",
    "ref/checks.md",
    "internals/contributing.md",
]


def _outside_fences(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, line) of the lines that are not inside a fenced code block."""
    fence = ""
    for number, line in enumerate(lines):
        if fence:
            if line.strip() == fence:
                fence = ""
        elif line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        else:
            yield number, line


def _included_blocks() -> Iterator[tuple[Path, str, str]]:
    """(page, example path, code block) for each ``<!-- example: path -->`` marker."""
    for page in sorted(DOCS.rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in _outside_fences(lines):
            if not line.startswith(INCLUDE):
                continue
            target = line.removeprefix(INCLUDE).removesuffix(" -->").strip()
            assert lines[number + 1].startswith("```"), f"{page}:{number + 2}: expected a fence"
            end = lines.index("```", number + 2)
            yield page, target, "\n".join(lines[number + 2 : end]) + "\n"


def test_docs_show_the_examples_exactly() -> None:
    blocks = list(_included_blocks())
    assert blocks, "no <!-- example: ... --> markers found in docs/"
    for page, target, code in blocks:
        source = (ROOT / target).read_text(encoding="utf-8")
        assert code == source, f"{page.relative_to(ROOT)} shows an outdated copy of {target}"


def test_every_example_is_in_the_docs() -> None:
    shown = {target for _, target, _ in _included_blocks()}
    examples = {str(path.relative_to(ROOT)) for path in EXAMPLES.rglob("*.py")}
    assert examples - shown == set()


def _anchors(page: Path) -> set[str]:
    """Explicit ``<a id>`` anchors and GitHub-style heading slugs of a page."""
    text = page.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for _, line in _outside_fences(text.splitlines()):
        if line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", heading).replace(" ", "-"))
    return anchors


def test_links_between_own_pages_resolve() -> None:
    broken = []
    for name in OWN_PAGES:
        page = DOCS / name
        for target in re.findall(r"\]\(([^)#\s]*\.md)?(?:#([^)\s]+))?\)", page.read_text()):
            path, anchor = target
            linked = (page.parent / path).resolve() if path else page
            if str(linked.relative_to(DOCS.resolve())) not in OWN_PAGES:
                continue  # another part's page, written with that part
            if not linked.is_file() or (anchor and anchor not in _anchors(linked)):
                broken.append(f"{name}: {path}#{anchor}")
    assert broken == []


def test_every_setting_is_in_the_reference() -> None:
    page = (DOCS / "ref" / "settings.md").read_text(encoding="utf-8")
    missing = [
        field.name
        for field in msgspec.structs.fields(Settings)
        if f'<a id="{field.name}"></a>' not in page or f"`TIDAL_{field.name.upper()}`" not in page
    ]
    assert missing == [], "document these settings in docs/ref/settings.md"
    names = {field.name for field in msgspec.structs.fields(Settings)}
    stale = sorted(set(re.findall(r'<a id="([a-z_]+)"></a>', page)) - names)
    assert stale == [], "docs/ref/settings.md lists settings that do not exist"


def test_every_error_code_is_in_the_reference() -> None:
    page = (DOCS / "ref" / "errors.md").read_text(encoding="utf-8")
    modules = ["tidal.exceptions"] + [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in sorted((ROOT / "tidal").glob("*/exceptions.py"))
    ]
    codes = set()
    for name in modules:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, TidalError):
                codes.add(value.code)
    missing = sorted(code for code in codes if f'<a id="{code}"></a>' not in page)
    assert missing == [], "document these error codes in docs/ref/errors.md"
    stale = sorted(set(re.findall(r'<a id="([a-z-]+)"></a>', page)) - codes)
    assert stale == [], "docs/ref/errors.md lists codes no error has"


def test_every_check_id_is_in_the_reference() -> None:
    page = (DOCS / "ref" / "checks.md").read_text(encoding="utf-8")
    ids = set()
    for path in (ROOT / "tidal").rglob("*.py"):
        ids.update(re.findall(r"\"([a-z]+\.[EWI][0-9]{3})\"", path.read_text(encoding="utf-8")))
    documented = set(re.findall(r'<a id="([a-z]+\.[EWI][0-9]{3})"></a>', page))
    assert sorted(ids - documented) == [], "document these check ids in docs/ref/checks.md"
    assert sorted(documented - ids) == [], "docs/ref/checks.md lists ids no check uses"
