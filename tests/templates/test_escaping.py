"""Cross-site scripting payloads, from user input to every place a template puts a value,
come out inert: no element, attribute or script of the attacker's survives."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tidal import HTMLResponse, Request, Tidal
from tidal.forms import Form
from tidal.templates import render
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</title><script>alert(1)</script>",
    "<svg/onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "<!--<script>alert(1)//-->",
    "&lt;script&gt;",  # already-escaped text stays text (escaped again)
]

PAGE = """<!doctype html><title>{{ value }}</title>
<p class="{{ value }}" title='{{ value }}'>{{ value }}</p>
<a href="/search?q={{ value|urlencode }}">search</a>
<textarea>{{ value }}</textarea>
<script>const value = {{ value|tojson }};</script>
<div data-value='{{ value|tojson }}'></div>
{{ form }}"""


class CommentForm(Form):
    comment: str


class Collector(HTMLParser):
    """What a browser would build: elements, their attributes, script bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.scripts: list[str] = []
        self.data_values: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)
        self.data_values.extend(value or "" for name, value in attrs if name == "data-value")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


@pytest.fixture
def app(make_app: MakeApp, write_apps: WriteApps) -> Tidal:
    write_apps(
        {
            "xss_pages/templates/page.html": PAGE,
            "xss_pages/templates/image.svg": (
                '<svg xmlns="http://www.w3.org/2000/svg"><text>{{ value }}</text></svg>'
            ),
            "xss_pages/templates/feed.xml": "<feed><title>{{ value }}</title></feed>",
        }
    )
    app = make_app(apps=("xss_pages",))

    @app.get("/{name}")
    async def page(request: Request, name: str) -> HTMLResponse:
        value = request.query_params["v"]
        form = CommentForm({"comment": value})
        await form.validate()
        return await render(request, name, {"value": value, "form": form})

    return app


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_payloads_render_inert_in_html(app: Tidal, payload: str) -> None:
    async with TestClient(app) as client:
        response = await client.get("/page.html", params={"v": payload})
    parser = Collector()
    parser.feed(response.text)
    assert sorted(set(parser.tags)) == [
        "a",
        "div",
        "input",
        "label",
        "p",
        "script",
        "textarea",
        "title",
    ]
    assert parser.tags.count("script") == 1
    assert not {"onerror", "onload", "onmouseover", "src"} & set(parser.attributes)
    [script] = parser.scripts
    assert script.startswith("const value = ")
    assert "</" not in script
    assert json.loads(script.removeprefix("const value = ").removesuffix(";")) == payload
    # tojson goes in single-quoted attributes (JSON strings use double quotes)
    assert [json.loads(value) for value in parser.data_values] == [payload]


@pytest.mark.parametrize("name", ["image.svg", "feed.xml"])
async def test_payloads_render_inert_in_svg_and_xml(app: Tidal, name: str) -> None:
    payload = "<script>alert(1)</script>"
    async with TestClient(app) as client:
        response = await client.get(f"/{name}", params={"v": payload})
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
