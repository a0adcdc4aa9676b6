"""``install(app)``: wiring static files and templates into an application."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.responses import PlainTextResponse

from tidal import Tidal
from tidal.templates import AppStaticFiles, install
from tidal.templates.environment import STATE_KEY
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]


def test_mounts_static_files_once(make_app: MakeApp, write_apps: WriteApps) -> None:
    write_apps({"in_site/static/in_site/a.css": ""})
    app = make_app(apps=("in_site",))
    install(app)
    install(app)
    [mount] = app.router.mounts
    assert (mount.prefix, mount.name) == ("/static", "static")
    assert isinstance(mount.app, AppStaticFiles)


def test_custom_prefix(make_app: MakeApp, write_apps: WriteApps) -> None:
    write_apps({"in_site/static/in_site/a.css": ""})
    app = make_app(apps=("in_site",), static_url="/assets")
    assert str(app.url_path_for("static", path="in_site/a.css")) == "/assets/in_site/a.css"


def test_nothing_to_mount_without_static_folders(make_app: MakeApp) -> None:
    app = make_app()
    install(app)
    assert app.router.mounts == []
    assert [h for h in app.startup_hooks if "template" in getattr(h, "__name__", "")] == []


def test_keeps_a_static_mount_the_project_made(make_app: MakeApp, write_apps: WriteApps) -> None:
    write_apps({"in_site/static/in_site/a.css": ""})
    app = make_app(apps=("in_site",), static_url=None)
    own = PlainTextResponse("cdn")
    app.mount("/static", own, name="static")
    install(app)
    assert [m.app for m in app.router.mounts] == [own]


async def test_templates_are_prepared_at_startup(make_app: MakeApp, write_apps: WriteApps) -> None:
    write_apps({"in_pages/templates/in_pages/a.html": "a"})
    app = make_app(apps=("in_pages",))
    install(app)
    assert STATE_KEY not in app.state
    async with TestClient(app):
        assert STATE_KEY in app.state
