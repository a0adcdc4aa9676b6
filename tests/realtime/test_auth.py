"""Sockets authenticated with the HTTP session of ``tidal.auth`` (and its CSRF token), or a
bearer token; logout and password changes close them. On SQLite and PostgreSQL, with the
memory and the Redis backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from tidal import Tidal
from tidal.auth import User, create_token
from tidal.auth.authentication import set_password
from tidal.realtime import Refused
from tidal.realtime.backends import MemoryBroker, MemoryPubSub
from tidal.testing import TestClient, WebSocketClosed, WebSocketRejected, WebSocketSession

from ..auth.conftest import PASSWORD, create_tables, csrf_token, log_in, make_user
from ..auth.conftest import make_auth_app as make_auth_app
from ..db.conftest import backend as backend
from ..db.conftest import database_url as database_url

PATH = "/_tidal/socket"
ORIGIN = "http://testserver"


@pytest_asyncio.fixture
async def app(
    make_auth_app: Callable[..., Tidal], rt_settings: dict[str, Any]
) -> AsyncIterator[Tidal]:
    app = make_auth_app(**rt_settings)

    @app.channel("board:{board_id:int}")
    async def board(board_id: int, user: User | None) -> dict[str, Any]:
        if user is None:
            raise Refused("sign in to see boards")
        return {"board": board_id, "you": user.username}

    await create_tables(app)
    await make_user(app)
    yield app


def connect(client: TestClient, query: str = "", **headers: str) -> WebSocketSession:
    cookie = client.cookies.get("tidal_session")
    if cookie:
        headers.setdefault("cookie", f"tidal_session={cookie}")
    headers.setdefault("origin", ORIGIN)
    return client.websocket_connect(PATH + query, headers=headers, subprotocols=["tidal.v1"])


async def token_of(client: TestClient) -> str:
    return csrf_token((await client.get("/auth/logout")).text)


async def join(socket: WebSocketSession, topic: str = "board:1", ref: int = 1) -> Any:
    await socket.send_json({"type": "join", "ref": ref, "topic": topic})
    return await socket.receive_json()


async def test_a_session_socket_with_its_csrf_token_joins_as_the_user(app: Tidal) -> None:
    async with TestClient(app) as client:
        await log_in(client)
        token = await token_of(client)
        async with connect(client) as socket:  # tidal.js: the token in the first frame
            await socket.send_json({"type": "auth", "csrf_token": token})
            reply = await join(socket)
            assert (reply["status"], reply["payload"]) == ("ok", {"board": 1, "you": "ada"})
        async with connect(client, f"?csrf_token={token}") as socket:
            assert (await join(socket))["payload"]["you"] == "ada"


async def test_a_session_socket_without_its_csrf_token_is_closed(app: Tidal) -> None:
    async with TestClient(app) as client:
        await log_in(client)
        async with connect(client) as socket:
            await socket.send_json({"type": "auth", "csrf_token": "forged"})
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert closed.value.code == 1008
        with pytest.raises(WebSocketRejected):
            async with connect(client, "?csrf_token=forged"):
                pass


async def test_anonymous_sockets_connect_but_the_join_handler_refuses(app: Tidal) -> None:
    async with TestClient(app) as client, connect(client) as socket:
        reply = await join(socket)
        assert (reply["status"], reply["payload"]) == ("error", {"reason": "sign in to see boards"})


async def test_a_cross_origin_handshake_is_refused(app: Tidal) -> None:
    async with TestClient(app) as client:
        await log_in(client)
        token = await token_of(client)
        with pytest.raises(WebSocketRejected) as refused:
            async with connect(client, f"?csrf_token={token}", origin="https://evil.example"):
                pass
        assert refused.value.code == 1008  # before accept: the server answers 403


async def test_a_bearer_token_in_a_header_authenticates(app: Tidal) -> None:
    import tidal.db

    async with tidal.db.database(app).session() as db:
        user = await db.get(User, 1)
        assert user is not None
        token, _ = await create_token(db, user, name="socket")
    async with TestClient(app) as client:
        async with connect(client, authorization=f"Bearer {token}") as socket:
            assert (await join(socket))["payload"]["you"] == "ada"
        with pytest.raises(WebSocketRejected):
            async with connect(client, authorization="Bearer wrong"):
                pass


async def test_logout_closes_the_users_sockets(app: Tidal) -> None:
    async with TestClient(app) as client:
        await log_in(client)
        token = await token_of(client)
        async with connect(client, f"?csrf_token={token}") as socket:
            assert (await join(socket))["status"] == "ok"
            response = await client.post("/auth/logout", data={"csrf_token": token})
            assert response.status_code in (200, 302, 303)
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert (closed.value.code, closed.value.reason) == (1008, "signed out")


async def test_a_password_change_closes_the_users_sockets(app: Tidal) -> None:
    import tidal.db

    async with TestClient(app) as client:
        await log_in(client)
        token = await token_of(client)
        async with connect(client, f"?csrf_token={token}") as socket:
            assert (await join(socket))["status"] == "ok"
            async with tidal.db.database(app).session() as db:
                user = await db.get(User, 1)
                assert user is not None
                await set_password(app, user, PASSWORD + "-new")
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert (closed.value.code, closed.value.reason) == (1008, "password changed")


async def test_logging_out_on_another_worker_closes_the_socket(
    app: Tidal, make_auth_app: Callable[..., Tidal], rt_settings: dict[str, Any]
) -> None:
    other = make_auth_app(**rt_settings)  # a second worker: same database (and Redis)
    other.channel("unused:{x}")(_unused)
    if not rt_settings:  # the memory backend: two workers sharing one in-process broker
        broker = MemoryBroker()
        app.channels.backend = MemoryPubSub(broker=broker)
        other.channels.backend = MemoryPubSub(broker=broker)
    async with TestClient(app) as client, TestClient(other) as elsewhere:
        await log_in(client)
        token = await token_of(client)
        async with connect(client, f"?csrf_token={token}") as socket:
            assert (await join(socket))["status"] == "ok"
            await log_in(elsewhere)  # ada's other browser, served by the other worker
            other_token = await token_of(elsewhere)
            await elsewhere.post("/auth/logout", data={"csrf_token": other_token})
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert closed.value.code == 1008


async def _unused() -> None:
    """The join handler of a channel the second worker declares (so that it has channels)."""
