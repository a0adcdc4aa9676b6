"""Routing: groups, mounts, url_for, 404 and 405, and declaration errors at start-up."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import PlainTextResponse

from tidal import Request, Router, Tidal, WebSocket
from tidal.exceptions import ImproperlyConfigured, NoReverseMatch
from tidal.http.converters import Converter, register_converter
from tidal.http.routing import PathPattern
from tidal.testing import TestClient, WebSocketRejected


async def test_route_group_prefix_name_and_tags(app: Tidal) -> None:
    api = Router(prefix="/api", name="api", tags=["api"])

    @api.get("/items/{item_id:int}")
    async def show_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @api.get("/")
    async def api_root() -> dict[str, str]:
        return {"api": "v1"}

    v2 = Router(prefix="/v2", name="v2")

    @v2.get("/ping")
    async def ping() -> str:
        return "pong"

    api.include(v2)
    app.include(api)
    async with TestClient(app) as client:
        assert (await client.get("/api/items/3")).json() == {"id": 3}
        assert (await client.get("/api")).json() == {"api": "v1"}
        assert (await client.get("/api/v2/ping")).text == "pong"
    assert app.url_path_for("api:show_item", item_id=3) == "/api/items/3"
    assert app.url_path_for("api:v2:ping") == "/api/v2/ping"
    route = next(r for r in app.route_table.routes if r.name == "api:show_item")
    assert route.tags == ["api"]


async def test_mount_tidal_subapp_and_asgi_app(make_app: Any) -> None:
    app: Tidal = make_app()
    child: Tidal = make_app()
    started: list[str] = []

    @child.get("/hello/{name}")
    async def hello(name: str) -> dict[str, str]:
        return {"hello": name}

    child.on_startup(lambda: started.append("child"))

    async def plain(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse(f"root_path={scope['root_path']} path={scope['path']}")(
            scope, receive, send
        )

    app.mount("/child", child, name="child")
    app.mount("/plain", plain, name="plain")
    async with TestClient(app) as client:
        assert (await client.get("/child/hello/ann")).json() == {"hello": "ann"}
        assert (await client.get("/plain/x")).text == "root_path=/plain path=/plain/x"
        assert (await client.get("/child/nothing")).status_code == 404
    assert started == ["child"]
    assert app.url_path_for("child:hello", name="bo") == "/child/hello/bo"


async def test_404_and_405_json_for_api_clients(app: Tidal) -> None:
    @app.get("/things")
    async def things() -> list[int]:
        return [1]

    @app.post("/things")
    async def add_thing() -> None:
        return None

    async with TestClient(app) as client:
        missing = await client.get("/nowhere", headers={"accept": "application/json"})
        wrong = await client.put("/things")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (
        missing.json()["detail"]
        == "No page or endpoint at '/nowhere'. Run `tidal routes` to list them."
    )
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    assert wrong.json()["title"] == "Method Not Allowed"


async def test_404_and_405_html_for_browsers(app: Tidal) -> None:
    @app.get("/page")
    async def page() -> str:
        return "hi"

    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    async with TestClient(app) as client:
        missing = await client.get("/nowhere", headers=browser)
        wrong = await client.post("/page", headers=browser)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in missing.text
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, HEAD"
    assert "<h1>405 Method Not Allowed</h1>" in wrong.text


async def test_hostile_path_is_escaped_in_html_404(app: Tidal) -> None:
    async with TestClient(app) as client:
        response = await client.get("/<script>alert(1)</script>", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_url_path_for_errors(app: Tidal) -> None:
    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> None:
        return None

    assert app.url_path_for("item", item_id=5) == "/items/5"
    with pytest.raises(NoReverseMatch, match="takes parameters"):
        app.url_path_for("item")
    with pytest.raises(NoReverseMatch, match="does not fit"):
        app.url_path_for("item", item_id="abc")
    with pytest.raises(NoReverseMatch, match="No route named 'nope'"):
        app.url_path_for("nope")


async def test_request_url_for(app: Tidal) -> None:
    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> None:
        return None

    @app.get("/link")
    async def link(request: Request) -> str:
        return str(request.url_for("item", item_id=9))

    async with TestClient(app) as client:
        assert (await client.get("/link")).text == "http://testserver/items/9"


def test_duplicate_method_and_path_fails_at_startup(app: Tidal) -> None:
    @app.get("/x")
    async def one() -> None:
        return None

    @app.get("/x", name="two")
    async def two() -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match="GET '/x' is declared twice"):
        app.build()


def test_duplicate_names_fail_at_startup(app: Tidal) -> None:
    @app.get("/x", name="same")
    async def one() -> None:
        return None

    @app.get("/y", name="same")
    async def two() -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match="Two routes are named 'same'"):
        app.build()


def test_bad_declarations() -> None:
    with pytest.raises(ImproperlyConfigured, match="Unknown path converter 'nope'"):
        PathPattern.parse("/items/{x:nope}")
    with pytest.raises(ImproperlyConfigured, match="must start with '/'"):
        PathPattern.parse("items")
    with pytest.raises(ImproperlyConfigured, match="repeats the parameter"):
        PathPattern.parse("/{a}/{a}")
    with pytest.raises(ImproperlyConfigured, match="must start with '/'"):
        Router(prefix="api/")


async def test_no_routes_after_start(app: Tidal) -> None:
    async with TestClient(app):
        with pytest.raises(ImproperlyConfigured, match="after the application has started"):
            app.get("/late")


async def test_custom_converter(app: Tidal) -> None:
    register_converter("upper", Converter(r"[A-Z]+", str, str.lower, str.upper))

    @app.get("/code/{code:upper}")
    async def code(code: str) -> dict[str, str]:
        return {"code": code}

    async with TestClient(app) as client:
        assert (await client.get("/code/ABC")).json() == {"code": "abc"}
        assert (await client.get("/code/abc")).status_code == 404
    assert app.url_path_for("code", code="xyz") == "/code/XYZ"


async def test_websocket_route(app: Tidal) -> None:
    @app.websocket("/echo/{room}")
    async def echo(websocket: WebSocket, room: str, shout: bool = False) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_json({"room": room, "text": text.upper() if shout else text})
        await websocket.close()

    async with TestClient(app) as client:
        async with client.websocket_connect("/echo/lobby?shout=true") as socket:
            await socket.send_text("hi")
            assert await socket.receive_json() == {"room": "lobby", "text": "HI"}
        with pytest.raises(WebSocketRejected) as refused:
            async with client.websocket_connect("/nowhere"):
                pass
    assert refused.value.code == 1008
