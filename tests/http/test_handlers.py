"""Handlers: parameters from path, query, headers, cookies and body; injection; returns."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
import pytest

from tidal import Cookie, Header, Query, Request, Settings, Tidal
from tidal.http.responses import PlainTextResponse
from tidal.testing import TestClient


class Item(msgspec.Struct):
    name: str
    price: int
    tags: list[str] = []


async def test_json_return(app: Tidal) -> None:
    @app.get("/json")
    async def hello() -> dict[str, str]:
        return {"message": "Hello, World!"}

    async with TestClient(app) as client:
        response = await client.get("/json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "Hello, World!"}


async def test_return_types(app: Tidal) -> None:
    @app.get("/text")
    async def text() -> str:
        return "Hello, World!"

    @app.get("/bytes")
    async def raw() -> bytes:
        return b"\x00\x01"

    @app.delete("/none")
    async def nothing() -> None:
        return None

    @app.get("/struct")
    async def struct() -> Item:
        return Item("lamp", 12)

    @app.get("/response")
    async def response() -> PlainTextResponse:
        return PlainTextResponse("custom", status_code=202)

    @app.post("/created", status_code=201)
    async def created() -> dict[str, int]:
        return {"id": 1}

    async with TestClient(app) as client:
        text_r = await client.get("/text")
        assert (text_r.text, text_r.headers["content-type"]) == (
            "Hello, World!",
            "text/plain; charset=utf-8",
        )
        raw_r = await client.get("/bytes")
        assert raw_r.content == b"\x00\x01"
        assert raw_r.headers["content-type"] == "application/octet-stream"
        none_r = await client.delete("/none")
        assert none_r.status_code == 204
        assert none_r.content == b""
        assert (await client.get("/struct")).json() == {"name": "lamp", "price": 12, "tags": []}
        custom = await client.get("/response")
        assert (custom.status_code, custom.text) == (202, "custom")
        assert (await client.post("/created")).status_code == 201


async def test_path_query_header_cookie(app: Tidal) -> None:
    @app.get("/items/{item_id:int}")
    async def show(
        item_id: int,
        q: str | None = None,
        limit: int = 10,
        tag: Annotated[list[str], Query()] = [],  # noqa: B006
        x_token: Annotated[str | None, Header()] = None,
        session: Annotated[str | None, Cookie("sid")] = None,
    ) -> dict[str, object]:
        return {
            "id": item_id,
            "q": q,
            "limit": limit,
            "tags": tag,
            "token": x_token,
            "sid": session,
        }

    async with TestClient(app) as client:
        response = await client.get(
            "/items/7?q=lamp&limit=3&tag=a&tag=b",
            headers={"X-Token": "secret", "Cookie": "sid=abc"},
        )
        assert response.json() == {
            "id": 7,
            "q": "lamp",
            "limit": 3,
            "tags": ["a", "b"],
            "token": "secret",
            "sid": "abc",
        }
        defaults = await client.get("/items/8")
        assert defaults.json() == {
            "id": 8,
            "q": None,
            "limit": 10,
            "tags": [],
            "token": None,
            "sid": None,
        }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/conv/int/42", 42),
        ("/conv/float/2.5", 2.5),
        ("/conv/uuid/12345678-1234-5678-1234-567812345678", "12345678-1234-5678-1234-567812345678"),
        ("/conv/path/a/b/c.txt", "a/b/c.txt"),
        ("/conv/slug/hello-world_1", "hello-world_1"),
    ],
)
async def test_path_converters(app: Tidal, path: str, expected: object) -> None:
    @app.get("/conv/int/{v:int}")
    async def as_int(v: int) -> dict[str, object]:
        assert isinstance(v, int)
        return {"v": v}

    @app.get("/conv/float/{v:float}")
    async def as_float(v: float) -> dict[str, object]:
        return {"v": v}

    @app.get("/conv/uuid/{v:uuid}")
    async def as_uuid(v: uuid.UUID) -> dict[str, object]:
        assert isinstance(v, uuid.UUID)
        return {"v": v}

    @app.get("/conv/path/{v:path}")
    async def as_path(v: str) -> dict[str, object]:
        return {"v": v}

    @app.get("/conv/slug/{v:slug}")
    async def as_slug(v: str) -> dict[str, object]:
        return {"v": v}

    async with TestClient(app) as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.json() == {"v": expected}


async def test_converter_mismatch_is_404(app: Tidal) -> None:
    @app.get("/items/{item_id:int}")
    async def show(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    async with TestClient(app) as client:
        response = await client.get("/items/abc")
    assert response.status_code == 404


async def test_json_body(app: Tidal) -> None:
    @app.post("/items")
    async def create(item: Item) -> Item:
        return item

    async with TestClient(app) as client:
        response = await client.post("/items", json={"name": "lamp", "price": 3, "tags": ["x"]})
    assert response.status_code == 200
    assert response.json() == {"name": "lamp", "price": 3, "tags": ["x"]}


async def test_injection_by_type(app: Tidal) -> None:
    @app.get("/inject")
    async def inject(request: Request, settings: Settings, tidal: Tidal) -> dict[str, object]:
        return {
            "path": request.url.path,
            "debug": settings.debug,
            "same_app": tidal is app and request.tidal is app,
            "request_id": request.request_id,
        }

    async with TestClient(app) as client:
        response = await client.get("/inject", headers={"x-request-id": "abc-123"})
    assert response.json() == {
        "path": "/inject",
        "debug": False,
        "same_app": True,
        "request_id": "abc-123",
    }


async def test_unannotated_request_and_query(app: Tidal) -> None:
    @app.get("/plain")
    async def plain(request, name="world"):  # type: ignore[no-untyped-def]
        return {"method": request.method, "name": name}

    async with TestClient(app) as client:
        response = await client.get("/plain?name=tidal")
    assert response.json() == {"method": "GET", "name": "tidal"}


async def test_request_body_via_request_object(app: Tidal) -> None:
    @app.post("/echo")
    async def echo(request: Request) -> bytes:
        return await request.body()

    async with TestClient(app) as client:
        response = await client.post("/echo", content=b"raw bytes")
    assert response.content == b"raw bytes"


async def test_head_answers_get_without_body(app: Tidal) -> None:
    @app.get("/doc")
    async def doc() -> str:
        return "content"

    async with TestClient(app) as client:
        response = await client.head("/doc")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "7"


async def test_streaming_response_passes_through(app: Tidal) -> None:
    from collections.abc import AsyncIterator

    from tidal import StreamingResponse

    async def numbers() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"{n}\n".encode()

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(numbers(), media_type="text/plain")

    async with TestClient(app) as client:
        response = await client.get("/stream")
    assert response.text == "0\n1\n2\n"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-request-id"]


async def test_unencodable_return_is_500_and_logged(
    app: Tidal, caplog: pytest.LogCaptureFixture
) -> None:
    class Opaque:
        pass

    @app.get("/opaque")
    async def opaque() -> object:
        return {"value": Opaque()}

    async with TestClient(app) as client:
        response = await client.get("/opaque")
    assert response.status_code == 500
    assert "Cannot encode Opaque objects as JSON" in caplog.text
