"""Bad input gets a clear 4xx problem+json, and the server keeps serving after each."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest

from tidal import Body, HTTPError, Tidal
from tidal.http.errors import NotFound
from tidal.testing import TestClient


class Address(msgspec.Struct):
    city: str
    zip: str


class Order(msgspec.Struct):
    item: str
    quantity: int
    address: Address
    note: str = ""


@pytest.fixture
def shop(make_app: Any) -> Tidal:
    app: Tidal = make_app(max_body_size=1024)

    @app.post("/orders")
    async def create(order: Order) -> Order:
        return order

    @app.post("/raw")
    async def raw(data: Annotated[bytes, Body()]) -> dict[str, int]:
        return {"size": len(data)}

    @app.post("/text")
    async def text(data: Annotated[str, Body(media_type="text/plain")]) -> dict[str, int]:
        return {"chars": len(data)}

    @app.get("/search")
    async def search(q: str, limit: int = 10) -> dict[str, Any]:
        return {"q": q, "limit": limit}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPError(418, "I only brew tea.", headers={"X-Brew": "tea"})

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("No such board.")

    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    return app


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_malformed_json_is_400(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post(
            "/orders", content=b'{"item": "lamp",', headers={"content-type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert "not valid JSON" in body["detail"]
        assert (await client.get("/ok")).status_code == 200


async def test_invalid_utf8_body_is_400(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post(
            "/orders", content=b'{"item": "\xff\xfe"}', headers={"content-type": "application/json"}
        )
        assert_problem(response, 400)
        response = await client.post(
            "/text", content=b"\xff\xfe", headers={"content-type": "text/plain"}
        )
        body = assert_problem(response, 400)
        assert "UTF-8" in body["detail"]


async def test_wrong_types_are_422_listing_every_field(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post(
            "/orders",
            json={"item": 5, "quantity": "many", "address": {"city": "Oslo", "zip": 1234}},
        )
    body = assert_problem(response, 422)
    errors = {(e["in"], e["path"]): e["message"] for e in body["errors"]}
    assert errors == {
        ("body", "$.item"): "Expected `str`, got `int`",
        ("body", "$.quantity"): "Expected `int`, got `str`",
        ("body", "$.address.zip"): "Expected `str`, got `int`",
    }
    assert body["detail"] == "3 invalid fields."


async def test_missing_fields_are_422(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post("/orders", json={"item": "lamp"})
    body = assert_problem(response, 422)
    paths = sorted(e["path"] for e in body["errors"])
    assert paths == ["$.address", "$.quantity"]
    assert all(e["message"] == "Object missing required field" for e in body["errors"])


async def test_missing_body_is_422(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post("/orders")
    body = assert_problem(response, 422)
    assert body["errors"] == [
        {"in": "body", "path": "$", "message": "The request body is required."}
    ]


async def test_query_errors_are_422(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/search?limit=ten")
    body = assert_problem(response, 422)
    assert body["errors"] == [
        {"in": "query", "path": "q", "message": "Missing required query value."},
        {"in": "query", "path": "limit", "message": "Expected `int`, got `str`"},
    ]


async def test_invalid_utf8_query_is_400(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/search?q=%ff%fe")
    body = assert_problem(response, 400)
    assert "UTF-8" in body["detail"]


async def test_unsupported_content_type_is_415(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post(
            "/orders",
            content=b"item=lamp",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    body = assert_problem(response, 415)
    assert "application/json" in body["detail"]


async def test_json_suffix_media_types_are_accepted(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post(
            "/orders",
            content=b'{"item":"a","quantity":1,"address":{"city":"x","zip":"1"}}',
            headers={"content-type": "application/merge-patch+json; charset=utf-8"},
        )
    assert response.status_code == 200


async def test_oversize_body_with_content_length_is_413_unread(shop: Tidal) -> None:
    """The announced length alone triggers 413: not a single body chunk is received."""
    received: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        message = {"type": "http.request", "body": b"x" * 4096, "more_body": True}
        received.append(message)
        return message

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/raw",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", str(10**9).encode())],
        "http_version": "1.1",
        "scheme": "http",
        "client": ("1.2.3.4", 1),
        "server": None,
    }
    async with TestClient(shop):
        await shop(scope, receive, send)
    assert received == []
    assert sent[0]["status"] == 413
    assert b"larger than the limit of 1024 bytes" in sent[1]["body"]


async def test_oversize_streamed_body_is_413_without_reading_it_all(shop: Tidal) -> None:
    """A chunked body is cut off as soon as it passes the limit."""
    chunks = [{"type": "http.request", "body": b"x" * 512, "more_body": True} for _ in range(100)]
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += 1
        return chunks[taken - 1]

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/raw",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")],
        "http_version": "1.1",
        "scheme": "http",
        "client": ("1.2.3.4", 1),
        "server": None,
    }
    async with TestClient(shop):
        await shop(scope, receive, send)
    assert sent[0]["status"] == 413
    assert taken == 3  # 1536 bytes > 1024: stopped at the third chunk of a hundred


async def test_body_within_limit_is_accepted(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.post("/raw", content=b"x" * 1024)
    assert response.json() == {"size": 1024}


async def test_unhandled_error_is_500_without_traceback(shop: Tidal, caplog: Any) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/boom")
        body = assert_problem(response, 500)
        assert "secret internals" not in response.text
        assert "Traceback" not in response.text
        assert body["request_id"] == response.headers["x-request-id"]
        assert (await client.get("/ok")).status_code == 200
    assert "secret internals" in caplog.text  # logged for the operator


async def test_debug_page_shows_traceback(make_app: Any) -> None:
    app: Tidal = make_app(debug=True)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("visible <in> debug")

    async with TestClient(app) as client:
        html = await client.get("/boom", headers={"accept": "text/html"})
        plain = await client.get("/boom")
    assert html.status_code == 500
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert "RuntimeError: visible &lt;in&gt; debug" in html.text
    assert "Traceback" in html.text
    assert plain.status_code == 500
    assert "RuntimeError: visible <in> debug" in plain.text


async def test_http_error_status_detail_and_headers(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/teapot")
        body = assert_problem(response, 418)
        assert body["detail"] == "I only brew tea."
        assert body["title"] == "I'm a Teapot"
        assert response.headers["x-brew"] == "tea"
        missing = assert_problem(await client.get("/missing"), 404)
        assert missing["detail"] == "No such board."


async def test_html_error_page_for_browsers(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/missing", headers={"accept": "text/html,*/*"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>404 Not Found</h1>" in response.text
    assert "No such board." in response.text
