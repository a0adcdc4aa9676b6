"""Dependency providers: by type and by Depends, cached per request, with yield clean-up."""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import msgspec

from tidal import Depends, Header, HTTPError, Request, Tidal
from tidal.http.errors import Conflict, Forbidden
from tidal.testing import TestClient


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now


class Pager(msgspec.Struct):
    page: int
    size: int


def pager(page: int = 1, size: int = 20) -> Pager:
    return Pager(page, size)


async def test_provider_by_type(make_app: Any) -> None:
    app: Tidal = make_app()
    app.provide(Clock, lambda: Clock(42))

    @app.get("/now")
    async def now(clock: Clock) -> dict[str, int]:
        return {"now": clock.now}

    async with TestClient(app) as client:
        assert (await client.get("/now")).json() == {"now": 42}


async def test_depends_with_its_own_parameters(app: Tidal) -> None:
    @app.get("/list")
    async def listing(paging: Annotated[Pager, Depends(pager)]) -> Pager:
        return paging

    async with TestClient(app) as client:
        assert (await client.get("/list?page=3")).json() == {"page": 3, "size": 20}
        bad = await client.get("/list?size=big")
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"in": "query", "path": "size", "message": "Expected `int`, got `str`"}
    ]


async def test_provider_runs_once_per_request(app: Tidal) -> None:
    calls: list[int] = []

    async def counter() -> int:
        calls.append(1)
        return len(calls)

    async def doubled(n: Annotated[int, Depends(counter)]) -> int:
        return n * 2

    @app.get("/twice")
    async def twice(
        a: Annotated[int, Depends(counter)], b: Annotated[int, Depends(doubled)]
    ) -> dict[str, int]:
        return {"a": a, "b": b}

    async with TestClient(app) as client:
        assert (await client.get("/twice")).json() == {"a": 1, "b": 2}
        assert (await client.get("/twice")).json() == {"a": 2, "b": 4}
    assert len(calls) == 2


async def test_yield_cleanup_sees_success_and_errors(app: Tidal) -> None:
    events: list[str] = []

    async def transaction() -> AsyncIterator[str]:
        events.append("begin")
        try:
            yield "tx"
        except Exception as exc:
            events.append(f"rollback:{type(exc).__name__}")
            raise
        else:
            events.append("commit")

    @app.get("/ok")
    async def ok(tx: Annotated[str, Depends(transaction)]) -> dict[str, str]:
        events.append("handler")
        return {"tx": tx}

    @app.get("/fail")
    async def fail(tx: Annotated[str, Depends(transaction)]) -> None:
        raise Conflict("already there")

    async with TestClient(app) as client:
        assert (await client.get("/ok")).json() == {"tx": "tx"}
        assert events == ["begin", "handler", "commit"]
        events.clear()
        response = await client.get("/fail")
    assert response.status_code == 409
    assert events == ["begin", "rollback:Conflict"]


async def test_cleanup_runs_before_the_response_and_can_translate_errors(app: Tidal) -> None:
    """A provider's clean-up (e.g. a commit) may fail; the client then gets its error."""

    async def failing_commit() -> AsyncIterator[None]:
        yield
        raise Conflict("A card with this title exists.")

    @app.post("/cards")
    async def create(_: Annotated[None, Depends(failing_commit)]) -> dict[str, bool]:
        return {"created": True}

    async with TestClient(app) as client:
        response = await client.post("/cards")
    assert response.status_code == 409
    assert response.json()["detail"] == "A card with this title exists."


async def test_sync_generator_provider(app: Tidal) -> None:
    closed: list[bool] = []

    def resource() -> Iterator[str]:
        yield "file"
        closed.append(True)

    @app.get("/r")
    def use(res: Annotated[str, Depends(resource)]) -> dict[str, str]:
        return {"res": res}

    async with TestClient(app) as client:
        assert (await client.get("/r")).json() == {"res": "file"}
    assert closed == [True]


async def test_route_guards(app: Tidal) -> None:
    async def require_token(x_token: Annotated[str | None, Header()] = None) -> None:
        if x_token != "secret":
            raise Forbidden("A valid X-Token header is required.")

    @app.get("/admin", dependencies=[require_token])
    async def admin() -> dict[str, bool]:
        return {"admin": True}

    async with TestClient(app) as client:
        refused = await client.get("/admin")
        allowed = await client.get("/admin", headers={"x-token": "secret"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "A valid X-Token header is required."
    assert allowed.json() == {"admin": True}


async def test_provider_receiving_request(app: Tidal) -> None:
    async def user_agent(request: Request) -> str:
        return request.headers.get("user-agent", "")

    @app.get("/ua")
    async def ua(agent: Annotated[str, Depends(user_agent)]) -> str:
        return agent

    async with TestClient(app) as client:
        assert (await client.get("/ua", headers={"user-agent": "probe/1"})).text == "probe/1"


async def test_http_error_in_provider(app: Tidal) -> None:
    async def deny() -> None:
        raise HTTPError(401, "Log in first.", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/private")
    async def private(_: Annotated[None, Depends(deny)]) -> None:
        return None

    async with TestClient(app) as client:
        response = await client.get("/private")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
