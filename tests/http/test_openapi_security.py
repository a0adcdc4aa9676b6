"""Security in the OpenAPI document: the schemes ``tidal.auth`` declares, the requirements
its guards and ``user: User`` put on operations, and ``security(...)`` markers of one's own."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from openapi_spec_validator import validate

from tidal import Depends, Router, Tidal
from tidal.auth import AuthConfig, BaseUser, User, configure
from tidal.auth.guards import login_required, permission_required, staff_required
from tidal.http.openapi import Security, openapi_document, security
from tidal.testing import TestClient

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
LOGGED_IN: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": []}]
MEMORY_DB = "sqlite+aiosqlite:///:memory:"


def document_of(app: Tidal) -> dict[str, Any]:
    app.build()
    document = openapi_document(app)
    validate(document)
    return document


def operation(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


async def load_card(card_id: int, user: User) -> dict[str, Any]:
    return {"id": card_id, "owner": user.username}


Card = Annotated[dict[str, Any], Depends(load_card)]


@pytest.fixture
def make_auth_app(make_app: Callable[..., Tidal]) -> Callable[..., Tidal]:
    def factory(**settings: Any) -> Tidal:
        return make_app(apps=("tidal.auth",), database_url=MEMORY_DB, **settings)

    return factory


@pytest.fixture
def guarded(make_auth_app: Callable[..., Tidal]) -> Tidal:
    app = make_auth_app(title="Notes")

    @app.get("/public")
    async def public() -> dict[str, Any]:
        return {}

    @app.get("/whoami")
    async def whoami(user: BaseUser) -> dict[str, Any]:
        """Anyone: the user, or an anonymous one."""
        return {}

    @app.get("/me")
    async def me(user: User) -> dict[str, Any]:
        return {}

    @app.get("/guarded", dependencies=[login_required])
    async def guarded() -> dict[str, Any]:
        return {}

    @app.get("/staff", dependencies=[staff_required])
    async def staff() -> dict[str, Any]:
        return {}

    @app.post("/notes", dependencies=[permission_required("notes.add_note")])
    async def add_note(user: User) -> dict[str, Any]:
        return {}

    @app.get("/cards/{card_id:int}")
    async def show_card(card: Card) -> dict[str, Any]:
        """``user: User`` inside a dependency guards the operation too."""
        return card

    api = Router("/api", name="api", dependencies=[login_required])

    @api.get("/items")
    async def items() -> list[int]:
        return []

    app.include(api)
    return app


def test_auth_declares_bearer_and_session_cookie_schemes(guarded: Tidal) -> None:
    schemes = document_of(guarded)["components"]["securitySchemes"]
    assert list(schemes) == ["bearerAuth", "sessionCookie"]
    bearer, cookie = schemes["bearerAuth"], schemes["sessionCookie"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert "tdl_" in bearer["description"]
    assert (cookie["type"], cookie["in"], cookie["name"]) == ("apiKey", "cookie", "tidal_session")
    assert "X-CSRF-Token" in cookie["description"]


def test_schemes_follow_the_settings(make_auth_app: Callable[..., Tidal]) -> None:
    app = make_auth_app(session_cookie_name="sid")
    configure(app, AuthConfig(token_prefix="acme_"))
    schemes = document_of(app)["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["name"] == "sid"
    assert "acme_..." in schemes["bearerAuth"]["description"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/me", "get", ["200", "401", "default"]),
        ("/guarded", "get", ["200", "401", "default"]),
        ("/staff", "get", ["200", "401", "403", "default"]),
        ("/notes", "post", ["200", "401", "403", "default"]),
        ("/cards/{card_id}", "get", ["200", "401", "default"]),
        ("/api/items", "get", ["200", "401", "default"]),
    ],
)
def test_guarded_operations_require_a_user(
    guarded: Tidal, path: str, method: str, statuses: list[str]
) -> None:
    found = operation(document_of(guarded), path, method)
    assert found["security"] == LOGGED_IN
    responses = found["responses"]
    assert list(responses) == statuses
    assert responses["401"]["content"] == PROBLEM
    assert "Authorization: Bearer" in responses["401"]["description"]
    if "403" in responses:
        assert responses["403"]["content"] == PROBLEM


@pytest.mark.parametrize("path", ["/public", "/whoami"])
def test_unguarded_operations_have_no_security(guarded: Tidal, path: str) -> None:
    found = operation(document_of(guarded), path)
    assert "security" not in found
    assert list(found["responses"]) == ["200", "default"]


def test_no_global_security(guarded: Tidal) -> None:
    assert "security" not in document_of(guarded)


async def test_served_document(guarded: Tidal) -> None:
    async with TestClient(guarded) as client:
        response = await client.get("/openapi.json")
    document = response.json()
    validate(document)
    assert operation(document, "/me")["security"] == LOGGED_IN
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_without_auth_no_schemes(make_app: Callable[..., Tidal]) -> None:
    app = make_app()

    @app.get("/items")
    async def items() -> list[int]:
        return []

    document = document_of(app)
    assert "securitySchemes" not in document["components"]
    assert "security" not in operation(document, "/items")


# -- markers of one's own --------------------------------------------------------------

API_KEY = {"type": "apiKey", "in": "header", "name": "X-API-Key"}


@security({"apiKey": []}, responses={401: "No valid X-API-Key."}, schemes={"apiKey": API_KEY})
async def api_key_required() -> None:
    """A guard of one's own, documented with its own scheme."""


def test_own_guard_declares_its_scheme(make_app: Callable[..., Tidal]) -> None:
    app = make_app()

    @app.get("/reports", dependencies=[api_key_required])
    async def reports() -> list[int]:
        return []

    @app.get("/open")
    async def open_() -> list[int]:
        return []

    document = document_of(app)
    assert document["components"]["securitySchemes"] == {"apiKey": API_KEY}
    reports_op = operation(document, "/reports")
    assert reports_op["security"] == [{"apiKey": []}]
    assert reports_op["responses"]["401"]["description"] == "No valid X-API-Key."
    assert "security" not in operation(document, "/open")


def test_handler_marker_narrows_the_guards(guarded: Tidal) -> None:
    @guarded.get("/tokens-only", dependencies=[login_required])
    @security({"bearerAuth": []})
    async def tokens_only() -> list[int]:
        return []

    found = operation(document_of(guarded), "/tokens-only")
    assert found["security"] == [{"bearerAuth": []}]
    assert list(found["responses"]) == ["200", "401", "default"]


def test_markers_combine(make_app: Callable[..., Tidal]) -> None:
    schemes: dict[str, dict[str, Any]] = {
        "oauth": {"type": "oauth2", "flows": {}},
        "apiKey": API_KEY,
    }

    @security({"oauth": ["read"]}, schemes=schemes)
    async def can_read() -> None: ...

    @security({"oauth": ["write"]}, {"apiKey": []}, responses={403: "Read-only."})
    async def can_write() -> None: ...

    @security({"apiKey": []}, {})
    async def maybe_key() -> None: ...

    app = make_app()

    @app.post("/both", dependencies=[can_read, can_write])
    async def both() -> None: ...

    @app.get("/optional", dependencies=[maybe_key])
    async def optional() -> None: ...

    @app.get("/twice", dependencies=[maybe_key, can_read, can_read])
    async def twice() -> None: ...

    document = document_of(app)
    # Both guards: read and write scopes of one token, or a read token and an API key.
    assert operation(document, "/both", "post")["security"] == [
        {"oauth": ["read", "write"]},
        {"oauth": ["read"], "apiKey": []},
    ]
    assert list(operation(document, "/both", "post")["responses"]) == ["204", "403", "default"]
    # ``{}``: the key is optional, and documented as such.
    assert operation(document, "/optional")["security"] == [{"apiKey": []}, {}]
    # An optional key beside a required scope: only the scope is needed.
    assert operation(document, "/twice")["security"] == [{"oauth": ["read"]}]


def test_undeclared_scheme_is_left_out_with_a_warning(
    make_app: Callable[..., Tidal], caplog: pytest.LogCaptureFixture
) -> None:
    @security({"partnerKey": []})
    async def partner_only() -> None: ...

    app = make_app()

    @app.get("/partners", dependencies=[partner_only])
    async def partners() -> None: ...

    with caplog.at_level(logging.WARNING, logger="tidal.openapi"):
        document = document_of(app)
    assert "security" not in operation(document, "/partners")
    assert "securitySchemes" not in document["components"]
    assert "'partnerKey' is required by a route but declared nowhere" in caplog.text


def test_marker_is_an_attribute() -> None:
    marker = api_key_required.openapi_security  # type: ignore[attr-defined]
    assert isinstance(marker, Security)
    assert marker.requirements == ({"apiKey": ()},)


def test_marker_on_a_callable_object(make_app: Callable[..., Tidal]) -> None:
    class KeyGuard:
        openapi_security = Security(({"apiKey": ()},), {401: "No key."}, {"apiKey": API_KEY})

        async def __call__(self) -> None: ...

    app = make_app()

    @app.get("/keyed", dependencies=[KeyGuard()])
    async def keyed() -> None: ...

    assert operation(document_of(app), "/keyed")["security"] == [{"apiKey": []}]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((), {}, TypeError, "needs at least one requirement"),
        (("bearerAuth",), {}, TypeError, "is not a requirement"),
        (({"bearerAuth": "read"},), {}, TypeError, "a scheme name and a list of scopes"),
        (({"bearerAuth": []},), {"responses": {200: "OK"}}, ValueError, "error statuses"),
    ],
)
def test_bad_markers(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        security(*args, **kwargs)
