"""Sockets authenticated with the HTTP session of ``tidal.auth`` (and its CSRF token), or a
bearer token; logout and password changes close them. On SQLite and PostgreSQL, with the
memory and the Redis backends."""

from __future__ import annotations

import datetime
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

import tidal.db
from tidal import Tidal
from tidal.auth import User, create_token
from tidal.auth.authentication import revoke_token, set_password
from tidal.auth.models import APIToken, Group, Permission
from tidal.db.models import utcnow
from tidal.realtime import Refused, connection
from tidal.realtime.backends import MemoryBroker, MemoryPubSub
from tidal.testing import TestClient, WebSocketClosed, WebSocketRejected, WebSocketSession

from ..auth.conftest import PASSWORD, create_tables, csrf_token, log_in, make_user
from ..auth.conftest import make_auth_app as make_auth_app
from ..db.conftest import backend as backend
from ..db.conftest import database_url as database_url
from .support import eventually

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
    await tidal.db.database(app).dispose()


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


# -- authentication beyond the handshake -----------------------------------------------

VIEW = "board.view_secret"


@pytest_asyncio.fixture
async def guarded(
    make_auth_app: Callable[..., Tidal], rt_settings: dict[str, Any]
) -> AsyncIterator[Tidal]:
    """ada may see ``secret:*`` with the permission ``board.view_secret`` (directly or
    through the group "readers"); ``lobby:*`` is open to any signed-in user; staff sockets
    see the private events of ``secret:*``."""
    app = make_auth_app(**rt_settings)
    await _declare_guarded(app)
    await create_tables(app)
    await make_user(app)
    await make_user(app, "bob")
    async with tidal.db.database(app).session() as db:
        db.add_all([Permission(codename=VIEW), Group(name="readers")])
    yield app
    await tidal.db.database(app).dispose()


async def _declare_guarded(app: Tidal) -> None:
    @app.channel("secret:{n}")
    async def secret(user: User | None) -> None:
        if user is None or not await user.has_perm(VIEW):
            raise Refused("You may not see secrets.")

    @secret.group_by
    def rank(user: User) -> str:
        return "staff" if user.is_staff else "member"

    @secret.visible_to
    def visible(group: Any, broadcast: Any) -> bool:
        return group == "staff" or not broadcast.data.get("private", False)

    @app.channel("lobby:{n}")
    async def lobby(user: User | None) -> None:
        if user is None:
            raise Refused("Sign in.")


async def grant(app: Tidal, *, direct: bool = True, **flags: Any) -> None:
    """Give ada the permission (directly, or through "readers") and ``flags``."""
    async with tidal.db.database(app).session() as db:
        options = [selectinload(User.user_permissions), selectinload(User.groups)]
        user = await db.get_one(User, 1, options=options)
        permission = (await db.scalars(select(Permission))).one()
        if direct:
            user.user_permissions.append(permission)
        else:
            group = await db.get_one(Group, 1, options=[selectinload(Group.permissions)])
            group.permissions.append(permission)
            user.groups.append(group)
        for name, value in flags.items():
            setattr(user, name, value)


async def session_socket(client: TestClient) -> WebSocketSession:
    await log_in(client)
    return connect(client, f"?csrf_token={await token_of(client)}")


async def frames_until(socket: WebSocketSession, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = await socket.receive_json()
        if frame["type"] == kind:
            return frame


async def test_a_revoked_permission_leaves_the_topics_that_now_refuse(guarded: Tidal) -> None:
    await grant(guarded)
    channels = guarded.channels
    reloads: list[Any] = []
    reload = channels.refresh_user

    async def counting_reload(user: Any) -> Any:
        reloads.append(user.id)
        return await reload(user)

    channels.refresh_user = counting_reload
    async with TestClient(guarded) as client, await session_socket(client) as socket:
        assert (await join(socket, "secret:1"))["status"] == "ok"
        assert (await join(socket, "lobby:1", ref=2))["status"] == "ok"
        async with tidal.db.database(guarded).session() as db:  # new rows: nothing to check
            db.add(Permission(codename="board.other"))
            await create_token(db, await db.get_one(User, 1))
        async with tidal.db.database(guarded).session() as db:
            user = await db.get_one(User, 1, options=[selectinload(User.user_permissions)])
            user.user_permissions.clear()
        assert await frames_until(socket, "left") == {
            "type": "left",
            "topic": "secret:1",
            "reason": "You may not see secrets.",
        }
        assert reloads == [1]  # once, for the revocation
        await guarded.channels.publish("secret:1", "news", {})
        await guarded.channels.publish("lobby:1", "news", {})
        event = await socket.receive_json()  # the socket lives on, in the lobby only
        assert (event["type"], event["topic"]) == ("event", "lobby:1")


async def test_a_group_losing_a_permission_reauthorizes_its_members(guarded: Tidal) -> None:
    await grant(guarded, direct=False)
    async with TestClient(guarded) as client, await session_socket(client) as socket:
        assert (await join(socket, "secret:1"))["status"] == "ok"
        async with tidal.db.database(guarded).session() as db:
            group = await db.get_one(Group, 1, options=[selectinload(Group.permissions)])
            group.permissions.clear()
        assert (await frames_until(socket, "left"))["topic"] == "secret:1"


async def test_leaving_a_group_reauthorizes_the_user(guarded: Tidal) -> None:
    await grant(guarded, direct=False)
    async with TestClient(guarded) as client, await session_socket(client) as socket:
        assert (await join(socket, "secret:1"))["status"] == "ok"
        async with tidal.db.database(guarded).session() as db:
            user = await db.get_one(User, 1, options=[selectinload(User.groups)])
            user.groups.clear()
        assert (await frames_until(socket, "left"))["topic"] == "secret:1"


async def test_deleting_a_group_checks_every_socket_again(guarded: Tidal) -> None:
    await grant(guarded, direct=False)
    async with TestClient(guarded) as client, await session_socket(client) as socket:
        assert (await join(socket, "secret:1"))["status"] == "ok"
        async with tidal.db.database(guarded).session() as db:
            await db.delete(await db.get_one(Group, 1))
        assert (await frames_until(socket, "left"))["topic"] == "secret:1"


async def test_a_demoted_user_stops_seeing_what_only_staff_may_see(guarded: Tidal) -> None:
    await grant(guarded, is_staff=True)
    channels = guarded.channels
    async with TestClient(guarded) as client, await session_socket(client) as socket:
        assert (await join(socket, "secret:1"))["status"] == "ok"
        await channels.publish("secret:1", "note", {"private": True})
        assert (await socket.receive_json())["data"] == {"private": True}
        async with tidal.db.database(guarded).session() as db:
            (await db.get_one(User, 1)).is_staff = False
        await eventually(lambda: "member" in channels.hub.topics["secret:1"].groups)
        await channels.publish("secret:1", "note", {"private": True})
        await channels.publish("secret:1", "note", {"private": False})
        assert (await socket.receive_json())["data"] == {"private": False}


async def test_a_deactivated_or_deleted_user_is_disconnected(guarded: Tidal) -> None:
    async with tidal.db.database(guarded).session() as db:
        bobs_token, _ = await create_token(db, await db.get_one(User, 2))
    async with TestClient(guarded) as client, await session_socket(client) as ada:
        async with connect(client, authorization=f"Bearer {bobs_token}") as bob:
            for socket in (ada, bob):
                assert (await join(socket, "lobby:1"))["status"] == "ok"
            async with tidal.db.database(guarded).session() as db:  # a statement is seen too
                await db.execute(update(User).where(User.id == 1).values(is_active=False))
            async with tidal.db.database(guarded).session() as db:
                await db.delete(await db.get_one(User, 2))
            for socket, reason in ((ada, "account disabled"), (bob, "account deleted")):
                with pytest.raises(WebSocketClosed) as closed:
                    await frames_until(socket, "never")
                assert (closed.value.code, closed.value.reason) == (1008, reason)


async def test_rights_changed_on_another_worker_reach_the_socket(
    guarded: Tidal, make_auth_app: Callable[..., Tidal], rt_settings: dict[str, Any]
) -> None:
    other = make_auth_app(**rt_settings)  # a second worker: same database (and Redis)
    await _declare_guarded(other)
    if not rt_settings:  # the memory backend: two workers sharing one in-process broker
        broker = MemoryBroker()
        guarded.channels.backend = MemoryPubSub(broker=broker)
        other.channels.backend = MemoryPubSub(broker=broker)
    await grant(guarded)
    async with TestClient(guarded) as client, TestClient(other):
        async with await session_socket(client) as socket:
            assert (await join(socket, "secret:1"))["status"] == "ok"
            async with tidal.db.database(other).session() as db:  # the other worker commits
                user = await db.get_one(User, 1, options=[selectinload(User.user_permissions)])
                user.user_permissions.clear()
            assert (await frames_until(socket, "left"))["topic"] == "secret:1"
    await tidal.db.database(other).dispose()


async def token_for(app: Tidal, **options: Any) -> tuple[str, int]:
    async with tidal.db.database(app).session() as db:
        token, record = await create_token(db, await db.get_one(User, 1), **options)
        return token, record.id


async def test_a_token_socket_closes_when_the_token_expires(
    guarded: Tidal, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = await token_for(guarded, expires_in=datetime.timedelta(hours=1))
    # The socket's clock says the hour is nearly over: its timer fires at once.
    monkeypatch.setattr(connection, "wall_clock", lambda: time.time() + 3600 - 0.05)
    async with TestClient(guarded) as client:
        async with connect(client, authorization=f"Bearer {token}") as socket:
            with pytest.raises(WebSocketClosed) as closed:
                await frames_until(socket, "never")
            assert (closed.value.code, closed.value.reason) == (1008, "token expired")


async def test_a_token_socket_closes_when_the_token_is_revoked_or_cut_short(
    guarded: Tidal,
) -> None:
    revoked, _ = await token_for(guarded)
    deleted, deleted_id = await token_for(guarded)
    shortened, shortened_id = await token_for(guarded)
    database = tidal.db.database(guarded)
    async with TestClient(guarded) as client:
        bearer = [
            connect(client, authorization=f"Bearer {token}")
            for token in (revoked, deleted, shortened)
        ]
        async with bearer[0] as one, bearer[1] as two, bearer[2] as three:
            for socket in (one, two, three):
                assert (await join(socket, "lobby:1"))["status"] == "ok"
            async with database.session() as db:
                assert await revoke_token(db, revoked)
            async with database.session() as db:
                await db.delete(await db.get_one(APIToken, deleted_id))
            async with database.session() as db:
                record = await db.get_one(APIToken, shortened_id)
                record.expires_at = utcnow() - datetime.timedelta(seconds=1)
            for socket, reason in (
                (one, "token revoked"),
                (two, "token revoked"),
                (three, "token expired"),
            ):
                with pytest.raises(WebSocketClosed) as closed:
                    await frames_until(socket, "never")
                assert (closed.value.code, closed.value.reason) == (1008, reason)
        with pytest.raises(WebSocketRejected):  # and no new socket opens with them
            async with connect(client, authorization=f"Bearer {revoked}"):
                pass


async def test_a_rolled_back_password_change_closes_nothing(app: Tidal) -> None:
    database = tidal.db.database(app)
    async with TestClient(app) as client:
        await log_in(client)
        async with connect(client, f"?csrf_token={await token_of(client)}") as socket:
            assert (await join(socket))["status"] == "ok"

            async def undone() -> None:
                async with database.session() as db:
                    await set_password(app, await db.get_one(User, 1), PASSWORD + "-new")
                    raise RuntimeError("the request failed after the change")

            with pytest.raises(RuntimeError):
                await undone()
            await app.channels.publish("board:1", "still-here", 1)
            assert (await socket.receive_json())["event"] == "still-here"
            async with database.session() as db:
                await set_password(app, await db.get_one(User, 1), PASSWORD + "-new")
                await app.channels.publish("board:1", "before-the-commit", 2)
            assert (await socket.receive_json())["event"] == "before-the-commit"
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert (closed.value.code, closed.value.reason) == (1008, "password changed")
