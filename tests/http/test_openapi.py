"""The OpenAPI document: operations, parameters, bodies, responses and shared schemas."""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import pytest
from openapi_spec_validator import validate

from tidal import Body, Cookie, Depends, Header, Query, Request, Router, Tidal
from tidal.http.openapi import openapi_document, openapi_path
from tidal.http.responses import HTMLResponse, RedirectResponse
from tidal.testing import TestClient

PROBLEM = {"$ref": "#/components/schemas/Problem"}
ERROR = {"description": "Error", "content": {"application/problem+json": {"schema": PROBLEM}}}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Tag(msgspec.Struct):
    label: str
    color: Color = Color.RED


class ItemIn(msgspec.Struct):
    """A new item."""

    name: str
    price: int
    tags: list[Tag] = []
    note: str | None = None


class ItemOut(msgspec.Struct):
    id: int
    name: str
    tags: list[Tag]


class Opaque:
    """Not a type msgspec can describe."""


class Page(msgspec.Struct):
    items: list[ItemOut]
    next: str | None = None


def current_page(page: int = 1, per_page: Annotated[int, Query("per-page")] = 20) -> int:
    return (page - 1) * per_page


def build_app(make_app: Callable[..., Tidal]) -> Tidal:
    app = make_app(title="Shop", version="2.1.0")

    @app.get("/items/{item_id:int}")
    async def show_item(
        item_id: int,
        token: Annotated[str, Header("x-token", description="API token.")],
        session: Annotated[str | None, Cookie()] = None,
        verbose: bool = False,
    ) -> ItemOut:
        """Show one item.

        Looks the item up by id.
        Answers 404 when it does not exist.
        """
        return ItemOut(item_id, "lamp", [])

    @app.get("/items", summary="List items", tags=["items"])
    async def list_items(
        offset: Annotated[int, Depends(current_page)],
        color: Color | None = None,
        tag: Annotated[list[str], Query(description="Repeat to match any.")] = [],  # noqa: B006
    ) -> Page:
        """Paged by per-page."""
        return Page([])

    @app.post("/items", status_code=201, tags=["items"])
    async def create_item(item: ItemIn) -> ItemOut:
        return ItemOut(1, item.name, item.tags)

    @app.delete("/items/{item_id:int}")
    async def delete_item(item_id: int) -> None:
        return None

    @app.get("/files/{key:uuid}/{name:slug}")
    async def file_info(key: uuid.UUID, name: str) -> str:
        return name

    @app.put("/files/{key:uuid}")
    async def upload(key: uuid.UUID, data: Annotated[bytes, Body()]) -> dict[str, int]:
        return {"size": len(data)}

    @app.post("/notes")
    async def note(
        text: Annotated[str, Body(media_type="text/plain", description="Markdown.")],
    ) -> bytes:
        return text.encode()

    @app.patch("/items/{item_id:int}")
    async def patch_item(item_id: int, item: ItemIn | None = None) -> ItemOut:
        return ItemOut(item_id, "lamp", [])

    @app.get("/page")
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    @app.get("/plain")
    async def plain():  # type: ignore[no-untyped-def]
        return {"ok": True}

    @app.get("/hidden", include_in_schema=False)
    async def hidden() -> dict[str, str]:
        return {}

    @app.websocket("/ws")
    async def socket(websocket: Any) -> None:
        return None

    @app.route("/both", ("GET", "POST", "HEAD"))
    async def both() -> dict[str, str]:
        return {}

    api = Router(prefix="/api", name="api", tags=["api"])

    @api.get("/tags/{label}", tags=["tags"])
    async def get_tag(label: str) -> Tag:
        return Tag(label)

    app.include(api)
    return app


@pytest.fixture
def shop(make_app: Callable[..., Tidal]) -> Tidal:
    return build_app(make_app)


async def served(app: Tidal) -> dict[str, Any]:
    async with TestClient(app) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


async def test_document_is_valid_openapi_31(shop: Tidal) -> None:
    document = await served(shop)
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Shop", "version": "2.1.0"}
    assert list(document["paths"]) == [
        "/items/{item_id}",
        "/items",
        "/files/{key}/{name}",
        "/files/{key}",
        "/notes",
        "/page",
        "/plain",
        "/both",
        "/api/tags/{label}",
    ]
    assert document["tags"] == [{"name": "items"}, {"name": "api"}, {"name": "tags"}]


async def test_excluded_websocket_and_head_not_listed(shop: Tidal) -> None:
    document = await served(shop)
    paths = document["paths"]
    assert "/hidden" not in paths
    assert "/ws" not in paths
    assert "/openapi.json" not in paths
    assert list(paths["/both"]) == ["get", "post"]
    assert list(paths["/items/{item_id}"]) == ["get", "delete", "patch"]
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert paths["/both"]["get"]["operationId"] == "both_get"
    assert paths["/both"]["post"]["operationId"] == "both_post"


async def test_path_header_cookie_query_parameters(shop: Tidal) -> None:
    operation = (await served(shop))["paths"]["/items/{item_id}"]["get"]
    assert operation["operationId"] == "show_item"
    assert operation["summary"] == "Show one item."
    assert operation["description"] == (
        "Looks the item up by id.\nAnswers 404 when it does not exist."
    )
    assert "tags" not in operation
    assert operation["parameters"] == [
        {
            "name": "item_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "x-token",
            "in": "header",
            "required": True,
            "description": "API token.",
            "schema": {"type": "string"},
        },
        {"name": "session", "in": "cookie", "required": False, "schema": {"type": "string"}},
        {
            "name": "verbose",
            "in": "query",
            "required": False,
            "schema": {"type": "boolean", "default": False},
        },
    ]
    assert operation["responses"] == {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ItemOut"}}},
        },
        "422": {
            "description": (
                "Validation failed: the input has missing fields, wrong types or bad values."
            ),
            "content": {"application/problem+json": {"schema": PROBLEM}},
        },
        "default": ERROR,
    }


async def test_dependency_list_and_enum_query_parameters(shop: Tidal) -> None:
    operation = (await served(shop))["paths"]["/items"]["get"]
    assert operation["summary"] == "List items"
    assert operation["description"] == "Paged by per-page."
    assert operation["tags"] == ["items"]
    assert operation["parameters"] == [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "default": 1},
        },
        {
            "name": "per-page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "default": 20},
        },
        {
            "name": "color",
            "in": "query",
            "required": False,
            "schema": {"$ref": "#/components/schemas/Color"},
        },
        {
            "name": "tag",
            "in": "query",
            "required": False,
            "description": "Repeat to match any.",
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": {"type": "string"}, "default": []},
        },
    ]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Page"
    }


async def test_request_bodies(shop: Tidal) -> None:
    paths = (await served(shop))["paths"]
    create = paths["/items"]["post"]
    assert create["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ItemIn"}}},
        "required": True,
    }
    assert list(create["responses"]) == ["201", "422", "default"]
    assert create["responses"]["201"]["description"] == "Created"
    patch = paths["/items/{item_id}"]["patch"]["requestBody"]
    assert patch["required"] is False
    assert patch["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/ItemIn"}, {"type": "null"}]
    }
    assert paths["/files/{key}"]["put"]["requestBody"] == {
        "content": {"application/octet-stream": {}},
        "required": True,
    }
    note = paths["/notes"]["post"]
    assert note["requestBody"] == {
        "content": {"text/plain": {"schema": {"type": "string"}}},
        "required": True,
        "description": "Markdown.",
    }
    assert note["responses"]["200"] == {
        "description": "OK",
        "content": {"application/octet-stream": {}},
    }


async def test_path_converters_and_plain_responses(shop: Tidal) -> None:
    paths = (await served(shop))["paths"]
    info = paths["/files/{key}/{name}"]["get"]
    assert info["parameters"] == [
        {
            "name": "key",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        },
        {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        },
    ]
    assert info["responses"]["200"] == {
        "description": "OK",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    # Path values the converter already parsed cannot fail validation: no 422.
    assert list(info["responses"]) == ["200", "default"]
    assert paths["/items/{item_id}"]["delete"]["responses"] == {
        "204": {"description": "No Content"},
        "default": ERROR,
    }
    assert paths["/page"]["get"]["responses"] == {
        "200": {"description": "OK", "content": {"text/html": {}}},
        "default": ERROR,
    }
    assert paths["/plain"]["get"]["responses"] == {
        "200": {"description": "OK"},
        "default": ERROR,
    }


async def test_route_group(shop: Tidal) -> None:
    operation = (await served(shop))["paths"]["/api/tags/{label}"]["get"]
    assert operation["operationId"] == "api:get_tag"
    assert operation["tags"] == ["api", "tags"]
    assert operation["parameters"] == [
        {"name": "label", "in": "path", "required": True, "schema": {"type": "string"}},
    ]


async def test_component_schemas(shop: Tidal) -> None:
    schemas = (await served(shop))["components"]["schemas"]
    assert sorted(schemas) == ["Color", "FieldError", "ItemIn", "ItemOut", "Page", "Problem", "Tag"]
    assert schemas["Color"] == {"title": "Color", "enum": ["blue", "red"]}  # msgspec sorts
    assert schemas["ItemIn"]["required"] == ["name", "price"]
    assert schemas["ItemIn"]["properties"]["tags"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Tag"},
        "default": [],
    }
    assert schemas["ItemIn"]["properties"]["note"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    assert schemas["Page"]["properties"]["items"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ItemOut"},
    }
    assert schemas["Tag"]["properties"]["color"] == {
        "$ref": "#/components/schemas/Color",
        "default": "red",
    }
    problem = schemas["Problem"]
    assert problem["required"] == ["title", "status", "detail"]
    assert problem["properties"]["errors"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/FieldError"},
        "default": [],
    }
    assert set(problem["properties"]) == {
        "title",
        "status",
        "detail",
        "type",
        "errors",
        "request_id",
    }
    assert problem["description"].startswith("An error, as RFC 9457 problem details.\n\nFor")
    assert "\n    " not in problem["description"]  # docstring indentation removed
    assert schemas["FieldError"]["required"] == ["path", "message"]
    assert set(schemas["FieldError"]["properties"]) == {"in", "path", "message"}


async def test_problem_schema_matches_a_real_error(shop: Tidal) -> None:
    """The documented 422 body is what the server sends."""
    from jsonschema import Draft202012Validator

    document = await served(shop)
    async with TestClient(shop) as client:
        response = await client.post("/items", json={"name": 3})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    schema = {**PROBLEM, "components": document["components"]}
    Draft202012Validator(schema).validate(response.json())


async def test_unsupported_return_type_is_documented_as_any(
    app: Tidal, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/opaque")
    async def opaque() -> Opaque:
        return Opaque()

    @app.get("/fine")
    async def fine() -> Tag:
        return Tag("x")

    app.build()
    document = openapi_document(app)
    validate(document)
    assert document["paths"]["/opaque"]["get"]["responses"]["200"]["content"] == {
        "application/json": {"schema": {}}
    }
    assert "Tag" in document["components"]["schemas"]
    assert "no JSON schema for" in caplog.text


async def test_handler_at_two_paths_keeps_ids_unique(app: Tidal) -> None:
    async def listing() -> list[int]:
        return []

    app.get("/a")(listing)
    app.get("/b")(listing)
    app.build()
    paths = openapi_document(app)["paths"]
    assert paths["/a"]["get"]["operationId"] == "listing"
    assert paths["/b"]["get"]["operationId"] == "listing_2"


def test_openapi_path() -> None:
    assert openapi_path("/a/{b:int}/c/{d}/{e_1:path}") == "/a/{b}/c/{d}/{e_1}"


async def test_served_once_and_fast(make_app: Callable[..., Tidal]) -> None:
    app = make_app()
    for i in range(300):

        async def handler(item_id: int, q: str | None = None, body: ItemIn | None = None) -> Page:
            return Page([])

        app.route(f"/r{i}/{{item_id:int}}", ("GET", "POST"), name=f"r{i}")(handler)
    app.build()
    start = time.perf_counter()
    document = openapi_document(app)
    assert time.perf_counter() - start < 1.0
    assert len(document["paths"]) == 300
    async with TestClient(app) as client:
        first = await client.get("/openapi.json")
        second = await client.get("/openapi.json")
    assert first.content == second.content


async def test_turned_off(make_app: Callable[..., Tidal]) -> None:
    app = make_app(openapi_url=None)

    @app.get("/")
    async def home() -> dict[str, str]:
        return {}

    async with TestClient(app) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 404


async def test_custom_url(make_app: Callable[..., Tidal]) -> None:
    app = make_app(openapi_url="/schema.json", title="Other")
    async with TestClient(app) as client:
        assert (await client.get("/openapi.json")).status_code == 404
        response = await client.get("/schema.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    validate(document)
    assert document["info"]["title"] == "Other"
    assert document["paths"] == {}


async def test_unhashable_annotation(app: Tidal) -> None:
    @app.get("/numbers")
    async def numbers() -> Annotated[list[int], {"unhashable": "metadata"}]:
        return [1]

    app.build()
    response = openapi_document(app)["paths"]["/numbers"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"type": "integer"},
    }


class Problem(msgspec.Struct):
    """The app's own struct that happens to share the name of Tidal's error schema."""

    question: str


async def test_app_struct_named_problem(app: Tidal) -> None:
    @app.post("/problems")
    async def ask(problem: Problem) -> Problem:
        return problem

    app.build()
    document = openapi_document(app)
    validate(document)
    schemas = document["components"]["schemas"]
    operation = document["paths"]["/problems"]["post"]
    ours = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    errors = operation["responses"]["default"]["content"]["application/problem+json"]["schema"]
    assert ours != errors["$ref"]
    assert schemas[ours.rpartition("/")[2]]["required"] == ["question"]
    assert schemas[errors["$ref"].rpartition("/")[2]]["required"] == ["title", "status", "detail"]


async def test_head_only_route_and_response_unions(app: Tidal) -> None:
    @app.route("/ping", ("HEAD",))
    async def ping() -> None:
        return None

    @app.get("/maybe")
    async def maybe() -> Tag | RedirectResponse:
        return Tag("x")

    app.build()
    paths = openapi_document(app)["paths"]
    assert list(paths["/ping"]) == ["head"]
    assert paths["/maybe"]["get"]["responses"]["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Tag"}}
    }
