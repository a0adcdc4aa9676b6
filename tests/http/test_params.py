"""Parameter details: msgspec constraints, query structs, body media types, header lists."""

from typing import Annotated

import msgspec

from tidal import Body, Header, Query, Tidal
from tidal.testing import TestClient

Page = Annotated[int, msgspec.Meta(ge=1, le=100)]


class Filters(msgspec.Struct):
    status: str
    page: int = 1
    tag: list[str] = []


class Patch(msgspec.Struct, omit_defaults=True):
    title: str | None = None


async def test_constraints_validate_and_document(app: Tidal) -> None:
    @app.get("/pages")
    async def pages(
        page: Page = 1, name: Annotated[str, msgspec.Meta(max_length=3)] = ""
    ) -> dict[str, object]:
        return {"page": page, "name": name}

    async with TestClient(app) as client:
        assert (await client.get("/pages?page=5&name=abc")).json() == {"page": 5, "name": "abc"}
        too_big = await client.get("/pages?page=500&name=abcdef")
        doc = (await client.get("/openapi.json")).json()
    assert too_big.status_code == 422
    assert too_big.json()["errors"] == [
        {"in": "query", "path": "page", "message": "Expected `int` <= 100"},
        {"in": "query", "path": "name", "message": "Expected `str` of length <= 3"},
    ]
    params = {p["name"]: p["schema"] for p in doc["paths"]["/pages"]["get"]["parameters"]}
    assert params["page"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 1}
    assert params["name"]["maxLength"] == 3


async def test_query_struct(app: Tidal) -> None:
    @app.get("/cards")
    async def cards(filters: Annotated[Filters, Query()]) -> Filters:
        return filters

    async with TestClient(app) as client:
        ok = await client.get("/cards?status=open&page=2&tag=a&tag=b")
        missing = await client.get("/cards?page=x")
        doc = (await client.get("/openapi.json")).json()
    assert ok.json() == {"status": "open", "page": 2, "tag": ["a", "b"]}
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["in"] == "query"
    names = [(p["name"], p["required"]) for p in doc["paths"]["/cards"]["get"]["parameters"]]
    assert names == [("status", True), ("page", False), ("tag", False)]


async def test_body_media_types(app: Tidal) -> None:
    @app.post("/text")
    async def text(note: Annotated[str, Body()]) -> str:
        return note.upper()

    @app.patch("/cards")
    async def patch(
        change: Annotated[Patch, Body(media_type="application/merge-patch+json")],
    ) -> Patch:
        return change

    async with TestClient(app) as client:
        shouted = await client.post(
            "/text", content="hello", headers={"content-type": "text/plain"}
        )
        patched = await client.patch(
            "/cards",
            content=b'{"title":"New"}',
            headers={"content-type": "application/merge-patch+json"},
        )
        doc = (await client.get("/openapi.json")).json()
    assert shouted.text == "HELLO"
    assert patched.json() == {"title": "New"}
    assert list(doc["paths"]["/text"]["post"]["requestBody"]["content"]) == ["text/plain"]
    assert list(doc["paths"]["/cards"]["patch"]["requestBody"]["content"]) == [
        "application/merge-patch+json"
    ]


async def test_header_lists_split_on_commas(app: Tidal) -> None:
    @app.get("/langs")
    async def langs(x_lang: Annotated[list[str], Header()]) -> list[str]:
        return x_lang

    async with TestClient(app) as client:
        response = await client.get("/langs", headers=[("x-lang", "en, fr"), ("x-lang", "de")])
    assert response.json() == ["en", "fr", "de"]
