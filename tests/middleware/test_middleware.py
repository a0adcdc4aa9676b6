"""Built-in middleware (request ids, access log, CORS, GZip) and user middleware order."""

import json
import logging
from typing import Any

import pytest

from tidal import Middleware, Tidal
from tidal.testing import TestClient
from tidal.types import ASGIApp, Message, Receive, Scope, Send


class Tag:
    """Adds ``x-order`` entries so the test can see the order middleware ran in."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("order", []).append(self.name)

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-order", self.name.encode())]
            await send(message)

        await self.app(scope, receive, tagged)


async def test_request_id_generated_or_kept(app: Tidal) -> None:
    @app.get("/")
    async def index() -> str:
        return "ok"

    async with TestClient(app) as client:
        fresh = await client.get("/")
        kept = await client.get("/", headers={"x-request-id": "trace-1.2:3"})
        hostile = await client.get("/", headers={"x-request-id": "bad id\twith<chars>"})
    assert len(fresh.headers["x-request-id"]) == 16
    assert kept.headers["x-request-id"] == "trace-1.2:3"
    assert hostile.headers["x-request-id"] != "bad id\twith<chars>"
    assert len(hostile.headers["x-request-id"]) == 16


async def test_access_log_is_structured(app: Tidal, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/items/{n:int}")
    async def item(n: int) -> dict[str, int]:
        return {"n": n}

    caplog.set_level(logging.INFO, logger="tidal.access")
    async with TestClient(app) as client:
        response = await client.get("/items/4", headers={"x-request-id": "req-9"})
        await client.get("/nowhere")
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tidal.access"]
    assert response.status_code == 200
    assert records[0]["request_id"] == "req-9"
    assert (records[0]["method"], records[0]["path"], records[0]["status"]) == (
        "GET",
        "/items/4",
        200,
    )
    assert records[0]["duration_ms"] >= 0
    assert records[1]["status"] == 404


async def test_access_log_off(make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    app: Tidal = make_app(access_log=False)

    @app.get("/")
    async def index() -> str:
        return "ok"

    caplog.set_level(logging.INFO, logger="tidal.access")
    async with TestClient(app) as client:
        await client.get("/")
    assert [r for r in caplog.records if r.name == "tidal.access"] == []


async def test_user_middleware_order(make_app: Any) -> None:
    app: Tidal = Tidal(
        settings=make_app().settings,
        middleware=[Middleware(Tag, name="outer"), Middleware(Tag, name="inner")],
    )
    seen: list[str] = []

    @app.get("/")
    async def index(request: Any = None) -> str:
        return "ok"

    app.add_middleware(Tag, name="innermost")

    @app.get("/order")
    async def order() -> str:
        return "ok"

    async with TestClient(app) as client:
        response = await client.get("/order")
    seen = response.headers.get_list("x-order")
    # response headers are added on the way out: innermost first
    assert seen == ["innermost", "inner", "outer"]


async def test_cors_when_configured(make_app: Any) -> None:
    app: Tidal = make_app(cors_origins=["https://front.example"])

    @app.get("/data")
    async def data() -> dict[str, int]:
        return {"x": 1}

    async with TestClient(app) as client:
        simple = await client.get("/data", headers={"origin": "https://front.example"})
        preflight = await client.options(
            "/data",
            headers={
                "origin": "https://front.example",
                "access-control-request-method": "GET",
            },
        )
        other = await client.get("/data", headers={"origin": "https://evil.example"})
    assert simple.headers["access-control-allow-origin"] == "https://front.example"
    assert preflight.status_code == 200
    assert "access-control-allow-origin" not in other.headers


async def test_gzip_when_configured(make_app: Any) -> None:
    app: Tidal = make_app(gzip_min_size=100)

    @app.get("/big")
    async def big() -> str:
        return "tidal " * 1000

    async with TestClient(app) as client:
        response = await client.get("/big", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "tidal " * 1000


async def test_error_in_middleware_becomes_500(make_app: Any) -> None:
    class Broken:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            raise ValueError("middleware bug")

    app: Tidal = make_app()
    app.add_middleware(Broken)

    @app.get("/")
    async def index() -> str:
        return "ok"

    async with TestClient(app) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert "middleware bug" not in response.text
    assert response.headers["x-request-id"]
