"""Structs derived from models: the right fields and types, input schemas that accept what
the database can fill, partial updates, and an endpoint whose OpenAPI document is right."""

from __future__ import annotations

import datetime
from typing import Any

import msgspec
import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

import tidal.db
from tidal import Tidal
from tidal.db import Session, apply, build, create_schema, dump, get_or_404, schema, update_schema
from tidal.testing import TestClient

from .blog.models import Author, Board, Card, Status

CardOut = schema(Card, name="CardOut")
CardCreate = create_schema(Card, exclude=["board_id"])
CardUpdate = update_schema(Card)
AuthorPublic = schema(Author, include=["name", "id"], name="AuthorPublic")


def fields(struct: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.name: f for f in msgspec.structs.fields(struct)}


def test_output_schema_has_every_column_with_its_type() -> None:
    out = fields(CardOut)
    assert list(out) == [
        "id",
        "board_id",
        "title",
        "position",
        "status",
        "note",
        "created_at",
        "updated_at",
    ]
    assert out["id"].type is int
    assert out["status"].type is Status
    assert out["note"].type == str | None
    assert out["created_at"].type is datetime.datetime
    assert all(f.required for f in out.values())
    assert list(fields(AuthorPublic)) == ["name", "id"]  # include keeps its order
    assert list(fields(schema(Author, exclude=["email", "bio"]))) == ["id", "name"]


def test_derivations_are_cached_and_names_checked() -> None:
    assert schema(Card, name="CardOut") is CardOut
    assert create_schema(Card, exclude=["board_id"]) is CardCreate
    with pytest.raises(ValueError, match=r"has no column attribute 'nope'.*it has id, email"):
        schema(Author, exclude=["nope"])


def test_create_schema_requires_what_the_database_cannot_fill() -> None:
    created = fields(CardCreate)
    assert list(created) == ["title", "position", "status", "note"]  # no id, timestamps
    assert created["title"].required
    assert created["position"].default == 0
    assert created["status"].default is Status.todo
    assert created["note"].default is None
    assert "board_id" in fields(create_schema(Card))
    with pytest.raises(msgspec.ValidationError, match="Object contains unknown field `id`"):
        msgspec.json.decode(b'{"title": "x", "id": 5}', type=CardCreate)
    with pytest.raises(msgspec.ValidationError, match="Expected `str` of length <= 200"):
        msgspec.json.decode(b'{"title": "%s"}' % (b"x" * 201), type=CardCreate)


def test_update_schema_tells_unset_from_null() -> None:
    updated = fields(CardUpdate)
    assert "id" not in updated
    assert "created_at" not in updated
    assert all(not f.required for f in updated.values())
    patch = msgspec.json.decode(b'{"note": null, "position": 3}', type=CardUpdate)
    assert tidal.db.schemas.values(patch) == {"note": None, "position": 3}


def add_card_routes(app: Tidal) -> None:
    @app.post("/boards/{board_id:int}/cards", status_code=201)
    async def create_card(board_id: int, data: CardCreate, db: Session) -> CardOut:  # type: ignore[valid-type]
        """Add a card to a board."""
        card = build(Card, data, board_id=board_id)
        db.add(card)
        await db.flush()
        return dump(card, CardOut)

    @app.get("/cards/{card_id:int}")
    async def show_card(card_id: int, db: Session) -> CardOut:  # type: ignore[valid-type]
        return dump(await get_or_404(db, Card, card_id), CardOut)

    @app.patch("/cards/{card_id:int}")
    async def edit_card(card_id: int, data: CardUpdate, db: Session) -> CardOut:  # type: ignore[valid-type]
        card = await get_or_404(db, Card, card_id)
        apply(card, data)
        await db.flush()
        return dump(card, CardOut)

    @app.get("/authors")
    async def authors(db: Session) -> list[AuthorPublic]:  # type: ignore[valid-type]
        everyone = (await db.scalars(select(Author).order_by(Author.id))).all()
        return dump(everyone, list[AuthorPublic])


async def test_endpoints_built_from_derived_schemas(app: Tidal) -> None:
    add_card_routes(app)
    async with tidal.db.session(app) as db:
        board = Board(name="B")
        db.add_all([board, Author(email="a@example.com", name="Ann", bio="secret")])
        await db.flush()
        board_id = board.id

    async with TestClient(app) as client:
        created = await client.post(f"/boards/{board_id}/cards", json={"title": "Write docs"})
        assert created.status_code == 201, created.text
        card = created.json()
        assert card["board_id"] == board_id
        assert card["status"] == "todo"
        assert card["position"] == 0
        assert card["note"] is None
        assert card["created_at"].endswith("Z")  # stored and returned in UTC

        patched = await client.patch(f"/cards/{card['id']}", json={"status": "doing", "note": "x"})
        assert patched.status_code == 200, patched.text
        assert patched.json()["title"] == "Write docs"  # untouched: not sent
        assert patched.json()["status"] == "doing"
        assert patched.json()["note"] == "x"
        cleared = await client.patch(f"/cards/{card['id']}", json={"note": None})
        assert cleared.json()["note"] is None
        assert cleared.json()["status"] == "doing"

        sneaky = await client.patch(f"/cards/{card['id']}", json={"id": 99})
        assert sneaky.status_code == 422
        assert (await client.get(f"/cards/{card['id']}")).json()["id"] == card["id"]

        listed = await client.get("/authors")
        assert listed.json() == [{"name": "Ann", "id": 1}]  # no email, no bio


async def test_openapi_document_describes_the_derived_schemas(app: Tidal) -> None:
    add_card_routes(app)
    async with TestClient(app) as client:
        document: dict[str, Any] = (await client.get("/openapi.json")).json()
    validate(document)
    components = document["components"]["schemas"]
    create = components["CardCreate"]
    assert create["required"] == ["title"]
    assert create["additionalProperties"] is False
    assert set(create["properties"]) == {"title", "position", "status", "note"}
    assert create["properties"]["title"] == {"type": "string", "maxLength": 200}
    assert create["properties"]["position"] == {"type": "integer", "default": 0}
    update = components["CardUpdate"]
    assert update["required"] == []
    assert update["additionalProperties"] is False
    assert "id" not in update["properties"]
    out = components["CardOut"]
    assert set(out["required"]) == set(out["properties"])
    assert "id" in out["required"]
    assert out["properties"]["created_at"]["type"] == "string"  # msgspec's datetime schema
    assert out["properties"]["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert sorted(components["Status"]["enum"]) == ["doing", "done", "todo"]

    operation = document["paths"]["/boards/{board_id}/cards"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CardCreate"}
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/CardOut"}
    patch = document["paths"]["/cards/{card_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CardUpdate"
    }
    authors = document["paths"]["/authors"]["get"]["responses"]["200"]
    assert authors["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/AuthorPublic"},
    }
