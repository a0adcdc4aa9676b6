"""Edge cases found while documenting: mounted apps, error merging, sockets, CORS on errors."""

import logging
from typing import Annotated, Any

import msgspec
import pytest

from tidal import Depends, Query, Request, Tidal, WebSocket
from tidal.exceptions import HandlerSignatureError
from tidal.testing import TestClient, WebSocketClosed


class Search(msgspec.Struct):
    q: str
    page: int = 1
    tags: list[str] = []


async def test_mounted_tidal_app_shares_the_request_id_and_logs_once(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    outer: Tidal = make_app()
    inner: Tidal = make_app()

    @inner.get("/users/{n:int}")
    async def user(request: Request, n: int) -> dict[str, str]:
        return {"self": request.url_path_for("user", n=n), "id": request.request_id or ""}

    outer.mount("/admin", inner)
    caplog.set_level(logging.INFO, logger="tidal.access")
    async with TestClient(outer) as client:
        response = await client.get("/admin/users/3")
        missing = await client.get("/admin/zzz")
    assert response.headers.get_list("x-request-id") == [response.json()["id"]]
    assert response.json()["self"] == "/admin/users/3"
    assert len([r for r in caplog.records if r.name == "tidal.access"]) == 2
    assert "'/admin/zzz'" in missing.json()["detail"]


async def test_raise_app_exceptions_reaches_the_test(app: Tidal) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise LookupError("visible to the test")

    async with TestClient(app, raise_app_exceptions=True) as client:
        with pytest.raises(LookupError, match="visible to the test"):
            await client.get("/boom")


async def test_provider_and_handler_errors_are_reported_together(app: Tidal) -> None:
    async def paging(page: int = 1) -> int:
        return page

    @app.get("/things")
    async def things(limit: int, page: Annotated[int, Depends(paging)]) -> dict[str, int]:
        return {"limit": limit, "page": page}

    async with TestClient(app) as client:
        response = await client.get("/things?page=x")
    paths = sorted(e["path"] for e in response.json()["errors"])
    assert paths == ["limit", "page"]


async def test_query_struct_single_list_value_and_all_errors(app: Tidal) -> None:
    @app.get("/search")
    async def search(params: Annotated[Search, Query()]) -> Search:
        return params

    async with TestClient(app) as client:
        one = await client.get("/search?q=x&tags=a")
        bad = await client.get("/search?page=x")
    assert one.json() == {"q": "x", "page": 1, "tags": ["a"]}
    assert bad.status_code == 422
    assert {(e["in"], e["path"]) for e in bad.json()["errors"]} == {
        ("query", "q"),
        ("query", "page"),
    }


def test_sync_websocket_handler_is_refused(app: Tidal) -> None:
    @app.websocket("/ws")
    def sync_socket(websocket: WebSocket) -> None:
        return None

    with pytest.raises(HandlerSignatureError, match="must be `async def`"):
        app.build()


async def test_websocket_handler_returning_closes_normally(app: Tidal) -> None:
    @app.websocket("/once")
    async def once(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("bye")

    async with TestClient(app) as client, client.websocket_connect("/once") as socket:
        assert await socket.receive_text() == "bye"
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive()
    assert closed.value.code == 1000


async def test_cors_headers_on_error_responses(make_app: Any) -> None:
    app: Tidal = make_app(cors_origins=["https://front.example"])

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("x")

    async with TestClient(app) as client:
        response = await client.get("/boom", headers={"origin": "https://front.example"})
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == "https://front.example"
