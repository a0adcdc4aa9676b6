"""The demo board's OpenAPI document describes how its JSON API authenticates: API tokens
(``bearerAuth``) or a logged-in browser's session cookie, on every operation but the one
that hands out tokens."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from tidal import Tidal
from tidal.testing import TestClient

from .conftest import PASSWORD

LOGGED_IN = [{"bearerAuth": []}, {"sessionCookie": []}]


async def test_api_operations_require_a_token_or_a_session(app: Tidal) -> None:
    async with TestClient(app) as client:
        document: dict[str, Any] = (await client.get("/openapi.json")).json()
        anonymous = await client.get("/api/boards")
        token = await client.post("/api/token", json={"username": "demo", "password": PASSWORD})
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["sessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": app.settings.session_cookie_name,
        "description": schemes["sessionCookie"]["description"],
    }
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    public = {key for key, operation in operations.items() if "security" not in operation}
    assert public == {("post", "/api/token")}
    for (method, path), operation in operations.items():
        if (method, path) in public:
            continue
        assert path.startswith("/api/")
        assert operation["security"] == LOGGED_IN, (method, path)
        assert "401" in operation["responses"], (method, path)
    # What the document says is what the server does.
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert token.status_code == 201
