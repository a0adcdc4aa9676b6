"""The engine protocol (another template language plugged in) and template errors: the
template's name and line in debug and in the log, a plain 500 in production."""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pytest

from tidal import HTMLResponse, Request, Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.templates import JinjaEngine, TemplateEngine, get_engine, render
from tidal.templates.debug import template_error_summary, template_location
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]


class DollarEngine:
    """A toy engine: ``string.Template`` files from a folder."""

    def __init__(self, app: Tidal) -> None:
        self.folder = Path(app.state["dollar_folder"])

    async def render(self, name: str | Sequence[str], context: dict[str, Any]) -> str:
        names = [name] if isinstance(name, str) else list(name)
        source = (self.folder / names[0]).read_text()
        return string.Template(source).substitute({**context, "path": context["request"].url.path})


def make_dollar_engine(app: Tidal) -> DollarEngine:
    return DollarEngine(app)


def not_an_engine(app: Tidal) -> object:
    return object()


async def test_another_engine_plugs_in(make_app: MakeApp, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("Hello $name at $path")
    app = make_app(template_engine=f"{__name__}:make_dollar_engine")
    app.state["dollar_folder"] = str(tmp_path)

    @app.get("/hi")
    async def hi(request: Request) -> HTMLResponse:
        return await render(request, "hello.txt", {"name": "Ada"})

    async with TestClient(app) as client:
        response = await client.get("/hi")
        assert isinstance(get_engine(app), DollarEngine)
    assert response.text == "Hello Ada at /hi"
    assert isinstance(DollarEngine(app), TemplateEngine)


def test_jinja_is_the_default_engine(make_app: MakeApp) -> None:
    assert isinstance(get_engine(make_app()), JinjaEngine)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mako", 'must be "jinja2" or "package.module:factory"'),
        ("nowhere.module:factory", "No module named 'nowhere'"),
        (f"{__name__}:missing", "has no attribute 'missing'"),
        (f"{__name__}:not_an_engine", "returned <object object"),
    ],
)
async def test_a_wrong_engine_setting_fails_at_startup(
    make_app: MakeApp, spec: str, message: str
) -> None:
    app = make_app(template_engine=spec)
    with pytest.raises(ImproperlyConfigured, match=message):
        await app.startup()


BROKEN = {
    "err_pages/templates/err/base.html": "<main>\n{% block body %}{% endblock %}\n</main>",
    "err_pages/templates/err/page.html": (
        '{% extends "err/base.html" %}\n{% block body %}\n<p>ok</p>\n'
        "<p>{{ card.title.upper() }}</p>\n{% endblock %}"
    ),
    "err_pages/templates/err/syntax.html": "<p>\n{% if x %}\n<p>no endif</p>\n",
}


def error_app(make_app: MakeApp, write_apps: WriteApps, **settings: Any) -> Tidal:
    write_apps(BROKEN)
    app = make_app(apps=("err_pages",), **settings)

    @app.get("/page")
    async def page(request: Request) -> HTMLResponse:
        return await render(request, "err/page.html", {"card": None})

    @app.get("/syntax")
    async def syntax(request: Request) -> HTMLResponse:
        return await render(request, "err/syntax.html")

    return app


async def test_debug_page_names_the_template_and_line(
    make_app: MakeApp, write_apps: WriteApps
) -> None:
    app = error_app(make_app, write_apps, debug=True)
    async with TestClient(app) as client:
        page = await client.get("/page", headers={"accept": "text/html"})
        syntax = await client.get("/syntax", headers={"accept": "text/html"})
    assert page.status_code == 500
    assert "Template &#x27;err/page.html&#x27;, line 4 (" in page.text
    assert "err/page.html): &lt;p&gt;{{ card.title.upper() }}&lt;/p&gt;" in page.text
    assert syntax.status_code == 500
    assert "Template &#x27;err/syntax.html&#x27;, line" in syntax.text


async def test_production_is_a_plain_500_and_the_log_has_the_line(
    make_app: MakeApp, write_apps: WriteApps, caplog: pytest.LogCaptureFixture
) -> None:
    app = error_app(make_app, write_apps)
    async with TestClient(app) as client:
        response = await client.get("/page", headers={"accept": "text/html"})
    assert response.status_code == 500
    assert "err/page.html" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert error is not None
    assert template_error_summary(error) == (
        "Template 'err/page.html', line 4 "
        f"({write_apps({}) / 'err_pages/templates/err/page.html'}): "
        "<p>{{ card.title.upper() }}</p>"
    )


async def test_locations_of_syntax_errors_and_other_exceptions(
    make_app: MakeApp, write_apps: WriteApps
) -> None:
    app = error_app(make_app, write_apps)
    engine = get_engine(app)
    assert isinstance(engine, JinjaEngine)
    with pytest.raises(jinja2.TemplateSyntaxError) as caught:
        engine.get_template("err/syntax.html")
    location = template_location(caught.value)
    assert location is not None
    assert (location.name, location.lineno) == ("err/syntax.html", caught.value.lineno)
    assert location.line == "{% if x %}"
    assert template_location(ValueError("not from a template")) is None
    assert template_error_summary(ValueError()) is None
