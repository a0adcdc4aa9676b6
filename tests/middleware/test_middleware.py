"""Built-in middleware (request ids, access log, CORS, GZip, plain routes answered by the
outer middleware) and user middleware order."""

import json
import logging
import os
from typing import Any

import msgspec
import pytest

from tidal import Middleware, Tidal
from tidal.app import default_cpu_workers
from tidal.http.errors import HTTPError
from tidal.http.responses import Response
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


class PassThrough:
    """User middleware that changes nothing: its presence makes every request take the
    routed path, so the plain-route answer can be compared with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Point(msgspec.Struct):
    x: int


class SessionEcho(Response):
    """A Response that reads the request's session when it runs."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.body = type(scope.get("tidal.session")).__name__.encode()
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)


def plain_handlers(app: Tidal) -> Tidal:
    @app.get("/dict")
    async def as_dict() -> dict[str, str]:
        return {"message": "Hello"}

    @app.get("/text", status_code=201)
    async def as_text() -> str:
        return "Hello"

    @app.get("/bytes")
    async def as_bytes() -> bytes:
        return b"\x00\x01"

    @app.get("/none")
    async def as_none() -> None:
        return None

    @app.get("/struct")
    async def as_struct() -> Point:
        return Point(1)

    @app.get("/teapot")
    async def teapot() -> str:
        raise HTTPError(418, "Short and stout.", headers={"Retry-After": "5"})

    @app.get("/broken")
    async def broken() -> str:
        raise ValueError("handler bug")

    @app.get("/response")
    async def response() -> SessionEcho:
        return SessionEcho(b"", media_type="text/plain")

    return app


@pytest.mark.parametrize(
    "path", ["/dict", "/text", "/bytes", "/none", "/struct", "/teapot", "/broken", "/response"]
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_plain_routes_answer_as_the_router_does(
    make_app: Any, path: str, method: str
) -> None:
    """A GET/HEAD to a handler without parameters is answered by the outer middleware
    (no router, no session object); the response must be the routed one, byte for byte
    apart from the request id."""
    fast = plain_handlers(make_app())
    routed = plain_handlers(make_app())
    routed.add_middleware(PassThrough)
    answers = []
    for app in (fast, routed):
        async with TestClient(app, raise_app_exceptions=False) as client:
            answers.append(await client.request(method, path, headers={"accept": "text/html"}))
    plain, expected = answers
    assert getattr(fast._stack, "plain_routes", None)
    assert not getattr(routed._stack, "plain_routes", None)
    assert plain.status_code == expected.status_code
    assert plain.content == expected.content
    ours = [(k, v) for k, v in plain.headers.multi_items() if k != "x-request-id"]
    theirs = [(k, v) for k, v in expected.headers.multi_items() if k != "x-request-id"]
    assert ours == theirs
    assert len(plain.headers.get_list("x-request-id")) == 1


async def test_plain_route_logs_and_keeps_the_client_request_id(
    app: Tidal, caplog: pytest.LogCaptureFixture
) -> None:
    plain_handlers(app)
    caplog.set_level(logging.INFO, logger="tidal.access")
    async with TestClient(app, raise_app_exceptions=False) as client:
        ok = await client.get("/dict", headers={"x-request-id": "req-1"})
        failed = await client.get("/broken", headers={"x-request-id": "req-2"})
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tidal.access"]
    assert ok.headers["x-request-id"] == "req-1"
    assert failed.headers["x-request-id"] == "req-2"
    assert [(r["request_id"], r["path"], r["status"]) for r in records] == [
        ("req-1", "/dict", 200),
        ("req-2", "/broken", 500),
    ]


async def test_plain_route_still_checks_the_host(app: Tidal) -> None:
    plain_handlers(app)
    async with TestClient(app) as client:
        response = await client.get("/dict", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["x-frame-options"] == "DENY"


async def test_plain_route_response_sees_the_session(app: Tidal) -> None:
    plain_handlers(app)
    async with TestClient(app) as client:
        response = await client.get("/response")
    assert response.text == "HttpSession"


def test_cpu_workers_follow_the_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker per CPU this process may use, one left to the event loop, at least one."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert default_cpu_workers() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert default_cpu_workers() == 3
