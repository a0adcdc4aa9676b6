"""What every rendered template can use: request, csrf_token, csrf_input(), flash messages,
user; the session is only touched by pages that use them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.forms.support import csrf_token, protect
from tidal import HTMLResponse, Request, Response, Tidal, redirect
from tidal.forms import Form, flash, get_flashed_messages
from tidal.templates import render, render_to_string
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]

PAGES = {
    "ctx_pages/templates/plain.html": "<p>{{ request.url.path }}</p>",
    "ctx_pages/templates/token.html": (
        '<meta name="csrf" content="{{ csrf_token }}">'
        '<form method="post">{{ csrf_input() }}</form>'
        "<script>const token = {{ csrf_token|string|tojson }};</script>"
    ),
    "ctx_pages/templates/messages.html": (
        "{% for m in get_flashed_messages() %}[{{ m.level }}:{{ m }}]{% endfor %}"
    ),
    "ctx_pages/templates/user.html": "{% if user %}Hi {{ user }}{% else %}anonymous{% endif %}",
    "ctx_pages/templates/form.html": "{% for f in forms %}<form>{{ f }}</form>{% endfor %}",
}


class NameForm(Form):
    name: str = ""


@pytest.fixture
def app(make_app: MakeApp, write_apps: WriteApps) -> Tidal:
    write_apps(PAGES)
    app = protect(make_app(apps=("ctx_pages",), session_store="memory"))

    @app.get("/page/{name}")
    async def page(request: Request, name: str) -> HTMLResponse:
        forms = [NameForm(), NameForm()]
        return await render(request, f"{name}.html", {"forms": forms})

    @app.post("/submit")
    async def submit(request: Request) -> Response:
        await flash(request, "Saved <b>it</b>.", "success")
        await flash(request, "Check the date.", "warning")
        return redirect("/page/messages")

    @app.post("/echo")
    async def echo() -> str:
        return "accepted"

    return app


async def test_pages_without_tokens_never_start_a_session(app: Tidal) -> None:
    async with TestClient(app) as client:
        response = await client.get("/page/plain")
        messages = await client.get("/page/messages")
    assert response.text == "<p>/page/plain</p>"
    assert "set-cookie" not in response.headers
    assert "set-cookie" not in messages.headers
    assert messages.text == ""


async def test_csrf_token_and_input(app: Tidal) -> None:
    async with TestClient(app) as client:
        first = await client.get("/page/token")
        assert "tidal_session=" in first.headers["set-cookie"]
        # the second page has a session cookie but has not loaded the session: the
        # token is printed as a placeholder and filled in after rendering
        second = await client.get("/page/token")
        tokens = [
            value
            for value in (
                second.text.split('content="')[1].split('"')[0],
                csrf_token(second.text),
                second.text.split("const token = ")[1].split(";")[0].strip('"'),
            )
        ]
        assert "tidal-csrf-" not in second.text
        assert len(set(tokens)) == 1
        accepted = await client.post("/echo", data={"csrf_token": tokens[0]})
        refused = await client.post("/echo", data={"csrf_token": "x" * 86})
    assert accepted.text == "accepted"
    assert refused.status_code == 403


async def test_every_form_gets_the_csrf_field(app: Tidal) -> None:
    async with TestClient(app) as client:
        html = (await client.get("/page/form")).text
        assert html.count('name="csrf_token"') == 2
        token = csrf_token(html)
        assert (await client.post("/echo", data={"csrf_token": token})).text == "accepted"
    # outside render() there is no page and no token
    assert 'name="csrf_token"' not in NameForm().__html__()


async def test_flash_messages_survive_a_redirect_once(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = csrf_token((await client.get("/page/token")).text)
        shown = await client.post("/submit", data={"csrf_token": token}, follow_redirects=True)
        again = await client.get("/page/messages")
    assert shown.text == ("[success:Saved &lt;b&gt;it&lt;/b&gt;.][warning:Check the date.]")
    assert again.text == ""


async def test_flash_levels(app: Tidal) -> None:
    taken: dict[str, Any] = {}

    @app.post("/levels")
    async def levels(request: Request) -> str:
        await flash(request, "a", "error")
        await flash(request, "b")
        taken["errors"] = await get_flashed_messages(request, levels={"error"})
        taken["rest"] = await get_flashed_messages(request)
        taken["none"] = await get_flashed_messages(request)
        return "ok"

    async with TestClient(app) as client:
        token = csrf_token((await client.get("/page/token")).text)
        await client.post("/levels", data={"csrf_token": token})
    assert [(m.level, str(m)) for m in taken["errors"]] == [("error", "a")]
    assert [(m.level, m.text) for m in taken["rest"]] == [("info", "b")]
    assert taken["none"] == []


async def test_flash_works_in_a_plain_app(make_app: MakeApp) -> None:
    """Sessions are on by default, so flash needs no set-up."""
    app = make_app()

    @app.get("/f")
    async def f(request: Request) -> str:
        await flash(request, "saved")
        return "ok"

    async with TestClient(app) as client:
        response = await client.get("/f")
    assert response.status_code == 200
    assert "tidal_session" in response.headers["set-cookie"]


async def test_user_from_authentication(app: Tidal) -> None:
    async def fake_auth(scope: Any, receive: Any, send: Any) -> None:
        scope["tidal.user"] = "Ada"
        await inner(scope, receive, send)

    async with TestClient(app) as client:
        anonymous = await client.get("/page/user")
    assert anonymous.text == "anonymous"
    inner = app
    async with TestClient(fake_auth) as client:
        known = await client.get("/page/user")
    assert known.text == "Hi Ada"


async def test_render_to_string(app: Tidal) -> None:
    results: list[str] = []

    @app.get("/string")
    async def as_string(request: Request) -> str:
        results.append(await render_to_string(request, "plain.html"))
        return "ok"

    async with TestClient(app) as client:
        await client.get("/string")
    assert results == ["<p>/string</p>"]
