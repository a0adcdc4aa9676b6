"""Static files of installed apps, served under /static/."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from tidal import Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.templates import AppStaticFiles, install
from tidal.templates.staticfiles import REVALIDATE, accepts_gzip, static_dirs
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]


@pytest.fixture
def app(make_app: MakeApp, write_apps: WriteApps) -> Tidal:
    write_apps(
        {
            "st_site/static/shared/theme.css": "body { color: red }",
            "st_site/secret.txt": "not public",
            "st_lib/static/shared/theme.css": "body { color: blue }",
            "st_lib/static/lib/lib.js": "export const lib = 1;",
            "st_plain/__init__.py": "",
        }
    )
    app = make_app(apps=("st_site", "st_plain", "st_lib"))
    install(app)
    return app


async def test_first_app_wins_and_others_are_found(app: Tidal) -> None:
    async with TestClient(app) as client:
        theme = await client.get("/static/shared/theme.css")
        lib = await client.get("/static/lib/lib.js")
    assert theme.status_code == 200
    assert theme.text == "body { color: red }"
    assert theme.headers["content-type"].startswith("text/css")
    assert "etag" in theme.headers
    assert lib.text == "export const lib = 1;"


async def test_conditional_requests(app: Tidal) -> None:
    async with TestClient(app) as client:
        first = await client.get("/static/lib/lib.js")
        again = await client.get(
            "/static/lib/lib.js", headers={"if-none-match": first.headers["etag"]}
        )
    assert again.status_code == 304


async def test_missing_file_is_a_problem_404(app: Tidal) -> None:
    async with TestClient(app) as client:
        response = await client.get("/static/nope.css")
        page = await client.get("/static/nope.css", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "No static file at '/static/nope.css'."
    assert page.headers["content-type"].startswith("text/html")


async def test_only_get_and_head(app: Tidal) -> None:
    async with TestClient(app) as client:
        head = await client.head("/static/lib/lib.js")
        post = await client.post("/static/lib/lib.js")
    assert head.status_code == 200
    assert head.content == b""
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"


async def test_no_escape_from_the_static_folders(app: Tidal) -> None:
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app.startup()
    try:
        for path in ("/static/../secret.txt", "/static/shared/../../secret.txt"):
            sent.clear()
            scope = {
                "type": "http",
                "method": "GET",
                "path": path,
                "raw_path": path.encode(),
                "root_path": "",
                "query_string": b"",
                "headers": [],
                "scheme": "http",
                "server": ("testserver", 80),
                "client": ("127.0.0.1", 1),
                "http_version": "1.1",
                "asgi": {"version": "3.0"},
            }
            await app(scope, receive, send)
            assert sent[0]["status"] == 404, path
            assert b"not public" not in b"".join(bytes(m.get("body", b"")) for m in sent)
    finally:
        await app.shutdown()


def test_static_dirs_in_installed_app_order(app: Tidal, write_apps: WriteApps) -> None:
    root = write_apps({})
    assert static_dirs(app) == [root / "st_site/static", root / "st_lib/static"]


def test_folders_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="do not exist"):
        AppStaticFiles([tmp_path / "missing"])


async def test_app_folders_are_revalidated_not_cached_forever(app: Tidal) -> None:
    async with TestClient(app) as client:
        response = await client.get("/static/lib/lib.js")
    assert response.headers["cache-control"] == REVALIDATE
    assert "vary" not in response.headers


async def test_a_gz_twin_in_an_app_folder_is_served_to_gzip_clients(
    make_app: MakeApp, write_apps: WriteApps
) -> None:
    text = "body { color: red }\n" * 50
    write_apps(
        {
            "st_gz/static/gz/site.css": text,
            "st_gz/static/gz/site.css.gz": gzip.compress(text.encode()),
        }
    )
    app = make_app(apps=("st_gz",))
    async with TestClient(app) as client:
        zipped = await client.get("/static/gz/site.css", headers={"accept-encoding": "gzip"})
        plain = await client.get("/static/gz/site.css", headers={"accept-encoding": "identity"})
        head = await client.head("/static/gz/site.css", headers={"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/css")
    assert zipped.text == text
    assert plain.text == text
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == zipped.headers["vary"] == "Accept-Encoding"
    assert head.headers["content-length"] == zipped.headers["content-length"]


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("gzip", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("GZIP", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("deflate, br", False),
    ],
)
def test_accepts_gzip(header: str | None, accepted: bool) -> None:
    headers = [(b"accept-encoding", header.encode())] if header is not None else []
    assert accepts_gzip({"headers": headers}) is accepted
