"""Channels through the in-process WebSocket client, on both backends: the protocol,
authorization, errors that keep the socket open, limits that close it, resume, shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from tests.realtime.support import eventually
from tidal import HTTPError, Tidal, WebSocket
from tidal.exceptions import HandlerSignatureError, ImproperlyConfigured
from tidal.realtime import Channels, Refused, Socket
from tidal.realtime.handshake import CREDENTIAL_KEY, EXPIRES_KEY
from tidal.testing import TestClient, WebSocketClosed, WebSocketRejected, WebSocketSession

PATH = "/_tidal/socket"


class Move(msgspec.Struct):
    card: int
    to: str


class User(msgspec.Struct):
    id: int
    name: str
    staff: bool = False


USERS = {"ann": User(1, "Ann", staff=True), "bob": User(2, "Bob")}


def build(app: Tidal, channels: Channels) -> None:
    """The demo channels most tests use."""

    async def authenticate(websocket: WebSocket) -> User | None:
        token = websocket.headers.get("authorization", "").removeprefix("Bearer ")
        if token == "bad":
            raise HTTPError(403, "Invalid token.")
        return USERS.get(token)

    channels.authenticate = authenticate

    @app.channel("board:{board_id:int}")
    async def board(socket: Socket, board_id: int, user: User | None, topic: str) -> Any:
        if user is None:
            raise Refused("sign in to see boards")
        if board_id == 13:
            raise HTTPError(403, "Board 13 is private.")
        return {"board": board_id, "you": user.name}

    @board.on("card:move")
    async def move(socket: Socket, topic: str, board_id: int, payload: Move) -> dict[str, Any]:
        await socket.broadcast(topic, "card:moved", {"card": payload.card, "to": payload.to})
        return {"ok": board_id}

    @board.on("whoami")
    async def whoami(socket: Socket, topic: str) -> None:
        socket.push(topic, "you", {"socket": socket.id, "user": socket.user_key})

    @board.on("crash")
    async def crash() -> None:
        raise RuntimeError("handler bug")

    @board.on("refuse")
    async def refuse() -> None:
        raise Refused("not today")

    @app.post("/boards/{board_id}/ping")
    async def ping(board_id: int, channels: Channels) -> dict[str, str]:
        return {"id": await channels.publish(f"board:{board_id}", "ping", {"board": board_id})}


@pytest.fixture
def demo(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> tuple[Tidal, Channels]:
    app, channels = make_rt_app()
    build(app, channels)
    return app, channels


def connect(client: TestClient, user: str | None = "ann", **headers: str) -> WebSocketSession:
    if user is not None:
        headers.setdefault("authorization", f"Bearer {user}")
    return client.websocket_connect(PATH, headers=headers)


async def joined(socket: WebSocketSession, topic: str, ref: int = 1, **extra: Any) -> Any:
    await socket.send_json({"type": "join", "ref": ref, "topic": topic, **extra})
    return await socket.receive_json()


async def test_join_event_reply_and_broadcast(demo: tuple[Tidal, Channels]) -> None:
    app, _ = demo
    async with TestClient(app) as client, connect(client) as ann, connect(client, "bob") as bob:
        reply = await joined(ann, "board:7")
        assert reply == {
            "type": "reply",
            "ref": 1,
            "topic": "board:7",
            "status": "ok",
            "payload": {"board": 7, "you": "Ann"},
            "id": "0-0",
        }
        assert (await joined(bob, "board:7"))["status"] == "ok"
        await ann.send_json(
            {
                "type": "event",
                "ref": 2,
                "topic": "board:7",
                "event": "card:move",
                "payload": {"card": 3, "to": "done"},
            }
        )
        # Through Redis the broadcast comes back asynchronously: either may be first.
        two = {f["type"]: f for f in [await ann.receive_json(), await ann.receive_json()]}
        moved = two["event"]
        assert (moved["event"], moved["data"]) == ("card:moved", {"card": 3, "to": "done"})
        assert two["reply"] == {
            "type": "reply",
            "ref": 2,
            "topic": "board:7",
            "status": "ok",
            "payload": {"ok": 7},
        }
        assert await bob.receive_json() == moved  # the same frame, id included

        # From an HTTP handler, through the injected registry.
        published = (await client.post("/boards/7/ping")).json()["id"]
        for socket in (ann, bob):
            frame = await socket.receive_json()
            assert (frame["id"], frame["event"], frame["data"]) == (published, "ping", {"board": 7})


async def test_push_goes_to_one_socket_only(demo: tuple[Tidal, Channels]) -> None:
    app, _ = demo
    async with TestClient(app) as client, connect(client) as ann, connect(client, "bob") as bob:
        await joined(ann, "board:1")
        await joined(bob, "board:1")
        await ann.send_json({"type": "event", "topic": "board:1", "event": "whoami"})
        pushed = await ann.receive_json()
        assert pushed["event"] == "you"
        assert pushed["data"]["user"] == "1"
        assert "id" not in pushed
        await bob.send_json({"type": "heartbeat", "ref": 9})
        assert await bob.receive_json() == {"type": "heartbeat", "ref": 9}  # nothing before it


async def test_refused_joins_and_events_keep_the_socket_open(
    demo: tuple[Tidal, Channels],
) -> None:
    app, _ = demo
    async with TestClient(app) as client, connect(client, None) as anonymous:
        refused = await joined(anonymous, "board:1")
        assert (refused["status"], refused["payload"]) == (
            "error",
            {"reason": "sign in to see boards"},
        )
    async with TestClient(app) as client, connect(client) as ann:
        private = await joined(ann, "board:13")
        assert private["payload"] == {"reason": "Board 13 is private."}
        assert (await joined(ann, "board:2", ref=2))["status"] == "ok"
        await ann.send_json({"type": "event", "ref": 3, "topic": "board:2", "event": "refuse"})
        assert (await ann.receive_json())["payload"] == {"reason": "not today"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{nope", "bad-json"),
        ('{"ref": 1}', "bad-frame"),
        ('{"type": "join", "ref": "x", "topic": 5}', "bad-frame"),
        ('{"type": "dance", "ref": 1}', "unknown-type"),
        ('{"type": "join", "ref": 1, "topic": "chess:1"}', "unknown-topic"),
        ('{"type": "join", "ref": 1}', "bad-frame"),
        ('{"type": "event", "ref": 1, "topic": "board:5", "event": "x"}', "not-joined"),
        ('{"type": "leave", "ref": 1, "topic": "board:5"}', "not-joined"),
        ('{"type": "join", "ref": 1, "topic": "board:1", "since": "soon"}', "invalid-id"),
        ('{"type": "event", "ref": 1, "topic": "board:2", "event": "fly"}', "unknown-event"),
        (
            '{"type": "event", "ref": 1, "topic": "board:2", "event": "card:move",'
            ' "payload": {"card": "x", "to": 1}}',
            "invalid-payload",
        ),
        ('{"type": "event", "ref": 1, "topic": "board:2", "event": "crash"}', "server-error"),
        ('{"type": "join", "ref": 1, "topic": "board:2"}', "already-joined"),
    ],
)
async def test_protocol_errors_get_an_error_frame_not_a_dead_socket(
    demo: tuple[Tidal, Channels], frame: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = demo
    async with TestClient(app) as client, connect(client) as ann:
        assert (await joined(ann, "board:2", ref=0))["status"] == "ok"
        with caplog.at_level(logging.ERROR, "tidal.realtime"):
            await ann.send_text(frame)
            error = await ann.receive_json()
        assert (error["type"], error["code"]) == ("error", code), error
        assert error["message"]
        await ann.send_json({"type": "heartbeat", "ref": 99})
        assert await ann.receive_json() == {"type": "heartbeat", "ref": 99}
    if code == "server-error":
        assert "handler bug" in caplog.text  # logged for the operator, not sent to the client
        assert "handler bug" not in error["message"]


async def test_leave_stops_delivery_and_runs_the_leave_handler(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app()
    left: list[tuple[str, str]] = []

    @app.channel("room:{name}")
    async def room(name: str) -> None:
        return None

    @room.on_leave
    async def gone(topic: str, reason: str) -> None:
        left.append((topic, reason))

    async with TestClient(app) as client, client.websocket_connect(PATH) as socket:
        await joined(socket, "room:a")
        await joined(socket, "room:b", ref=2)
        await socket.send_json({"type": "leave", "ref": 3, "topic": "room:a"})
        assert (await socket.receive_json())["status"] == "ok"
        await channels.publish("room:a", "x")
        await channels.publish("room:b", "y")
        assert (await socket.receive_json())["topic"] == "room:b"
    await eventually(lambda: len(left) == 2)
    assert left == [("room:a", "leave"), ("room:b", "disconnect")]


async def test_resume_replays_missed_events_then_live(demo: tuple[Tidal, Channels]) -> None:
    app, channels = demo
    async with TestClient(app) as client:
        async with connect(client) as first:
            await joined(first, "board:4")
            seen = (await client.post("/boards/4/ping")).json()["id"]
            assert (await first.receive_json())["id"] == seen
        missed = [await channels.publish("board:4", "n", n) for n in range(3)]
        async with connect(client) as again:
            reply = await joined(again, "board:4", since=seen)
            assert (reply["status"], reply["id"], reply.get("gone", False)) == ("ok", seen, False)
            replayed = [await again.receive_json() for _ in range(3)]
            assert [f["id"] for f in replayed] == missed
            assert [f["data"] for f in replayed] == [0, 1, 2]
            live = await channels.publish("board:4", "n", 3)
            assert (await again.receive_json())["id"] == live


async def test_a_too_old_id_says_gone(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> None:
    app, channels = make_rt_app(realtime_history=5)
    build(app, channels)
    async with TestClient(app) as client:
        first = await channels.publish("board:8", "n", 0)
        for n in range(300):
            await channels.publish("board:8", "n", n + 1)
        async with connect(client) as socket:
            reply = await joined(socket, "board:8", since=first)
            history = await channels.history("board:8")
            assert (reply["gone"], reply["id"]) == (True, history.last_id)
            await channels.publish("board:8", "after", None)
            assert (await socket.receive_json())["event"] == "after"  # live, nothing stale


async def test_authentication_hook_refuses_the_handshake(demo: tuple[Tidal, Channels]) -> None:
    app, _ = demo
    async with TestClient(app) as client:
        with pytest.raises(WebSocketRejected) as refused:
            async with connect(client, "bad"):
                pass
        assert refused.value.code == 1008  # the server answers the handshake with 403


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        (None, [], True),  # not a browser
        ("http://testserver", [], True),
        ("https://testserver:443", [], True),
        ("http://evil.example", [], False),
        ("http://testserver.evil.example", [], False),
        ("null", [], False),
        ("https://app.example.com", ["https://app.example.com"], True),
        ("https://other.example.com", ["https://app.example.com"], False),
        ("https://any.example", ["*"], True),
    ],
)
async def test_origin_check(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
    origin: str | None,
    allowed: list[str],
    ok: bool,
) -> None:
    app, channels = make_rt_app(realtime_allowed_origins=allowed)
    build(app, channels)
    headers = {"authorization": "Bearer ann"}
    if origin is not None:
        headers["origin"] = origin
    async with TestClient(app) as client:
        if ok:
            async with client.websocket_connect(PATH, headers=headers) as socket:
                assert (await joined(socket, "board:1"))["status"] == "ok"
        else:
            with pytest.raises(WebSocketRejected) as refused:
                async with client.websocket_connect(PATH, headers=headers):
                    pass
            assert refused.value.code == 1008
            assert "not allowed" in refused.value.reason


async def test_rate_limit_closes_with_1008(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app(realtime_rate=1.0, realtime_burst=5)
    build(app, channels)
    async with TestClient(app) as client, connect(client) as socket:
        for n in range(6):
            await socket.send_json({"type": "heartbeat", "ref": n})
        for n in range(5):
            assert await socket.receive_json() == {"type": "heartbeat", "ref": n}
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive_json()
        assert (closed.value.code, closed.value.reason) == (1008, "rate limit exceeded")


async def test_oversize_and_binary_messages_close_the_socket(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app(realtime_max_message=100)
    build(app, channels)
    async with TestClient(app) as client:
        async with connect(client) as socket:
            await socket.send_json({"type": "heartbeat", "ref": "x" * 200})
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert closed.value.code == 1009
        async with connect(client) as socket:
            await socket.send_bytes(b"\x00\x01")
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert closed.value.code == 1003


async def test_disconnect_user_closes_that_users_sockets_on_every_worker(
    demo: tuple[Tidal, Channels], make_rt_app: Callable[..., tuple[Tidal, Channels]]
) -> None:
    app, channels = demo
    other_app, other_channels = make_rt_app()
    build(other_app, other_channels)
    if channels.settings.redis_url is None:  # two "workers" sharing one in-process broker
        from tidal.realtime.backends import MemoryPubSub

        shared = MemoryPubSub()
        channels.backend, other_channels.backend = shared, MemoryPubSub(broker=shared.broker)
    async with (
        TestClient(app) as one,
        TestClient(other_app) as two,
        connect(one) as ann_here,
        connect(two) as ann_there,
        connect(one, "bob") as bob,
    ):
        for socket in (ann_here, ann_there, bob):
            await joined(socket, "board:1")
        await channels.disconnect_user("1", reason="signed out")
        for socket in (ann_here, ann_there):
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive_json()
            assert (closed.value.code, closed.value.reason) == (1008, "signed out")
        await bob.send_json({"type": "heartbeat", "ref": 1})
        assert await bob.receive_json() == {"type": "heartbeat", "ref": 1}


async def test_shutdown_tells_clients_to_reconnect(demo: tuple[Tidal, Channels]) -> None:
    app, channels = demo
    async with TestClient(app) as client, connect(client) as socket:
        await joined(socket, "board:1")
        await channels.publish("board:1", "last", None)
        # Delivered first (with Redis the publish is a round trip through the broker).
        assert (await socket.receive_json())["event"] == "last"
        stopping = asyncio.ensure_future(channels.stop())
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive_json()
        assert (closed.value.code, closed.value.reason) == (1012, "service restart")
        await asyncio.wait_for(stopping, 5)
        assert not channels.sockets


async def test_idle_sockets_are_closed(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> None:
    app, channels = make_rt_app(realtime_idle_timeout=0.3, realtime_presence_ttl=0.3)
    build(app, channels)
    async with TestClient(app) as client, connect(client) as socket:
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive_json()
        assert (closed.value.code, closed.value.reason) == (1001, "idle timeout")


async def read_until_closed(socket: WebSocketSession, into: list[Any]) -> None:
    while True:
        into.append(await socket.receive_json())


class StalledSession(WebSocketSession):
    """A client that stops reading: the server's sends to it never complete."""

    stalled = False

    async def _from_app_put(self, message: Any) -> None:
        if self.stalled and message["type"] == "websocket.send":
            await asyncio.Event().wait()
        await self._from_app.put(message)

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._from_app_put)
        finally:
            await self._from_app.put({"type": "tidal.test.app_done"})


async def test_a_consumer_that_stops_reading_is_cut_off_and_others_keep_receiving(
    make_rt_app: Callable[..., tuple[Tidal, Channels]], caplog: pytest.LogCaptureFixture
) -> None:
    app, channels = make_rt_app(realtime_send_queue=8)
    build(app, channels)
    channels.close_timeout = 0.2
    async with TestClient(app) as client, connect(client) as reader:
        stalled = StalledSession(
            app, "ws://testserver" + PATH, headers={"authorization": "Bearer bob"}
        )
        async with stalled:
            await joined(reader, "board:1")
            await joined(stalled, "board:1")
            stalled.stalled = True
            with caplog.at_level(logging.WARNING, "tidal.realtime"):
                for n in range(40):
                    await channels.publish("board:1", "n", n)
                    assert (await reader.receive_json())["data"] == n
                await eventually(lambda: len(channels.sockets) == 1, message="the cut-off")
            assert "did not read fast enough" in caplog.text
            assert channels.hub.members("board:1") == 1


class SluggishSession(WebSocketSession):
    """A client whose every receive takes a moment: each server send suspends once."""

    async def _from_app_put(self, message: Any) -> None:
        await asyncio.sleep(0)
        await self._from_app.put(message)

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._from_app_put)
        finally:
            await self._from_app.put({"type": "tidal.test.app_done"})


async def test_frames_queued_faster_than_sent_close_with_1013(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app(realtime_send_queue=4)
    build(app, channels)
    async with TestClient(app):
        socket = SluggishSession(
            app, "ws://testserver" + PATH, headers={"authorization": "Bearer ann"}
        )
        async with socket:
            await joined(socket, "board:1")
            hub = channels.hub
            for n in range(10):  # a burst delivered in one go, faster than it is sent
                await hub.on_message("board:1", f"{n + 1}-0", b'{"event":"n","data":%d}' % n)
            frames: list[Any] = []
            with pytest.raises(WebSocketClosed) as closed:
                await read_until_closed(socket, frames)
            assert (closed.value.code, closed.value.reason) == (1013, "send queue overflow")
            assert len(frames) <= 5  # the send in progress, then the close: the rest dropped


async def test_handlers_are_checked_at_declaration(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, _ = make_rt_app()
    with pytest.raises(ImproperlyConfigured, match="must be `async def`"):

        @app.channel("sync:{x}")
        def sync_join(x: str) -> None:
            return None

    with pytest.raises(HandlerSignatureError, match="cannot fill parameter 'color'"):

        @app.channel("odd:{x}")
        async def odd(x: str, color: str) -> None:
            return None

    with pytest.raises(ImproperlyConfigured, match="Unknown path converter"):

        @app.channel("bad:{x:hex}")
        async def bad(x: str) -> None:
            return None

    @app.channel("ok:{x}")
    async def ok(x: str) -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match="declared twice"):

        @app.channel("ok:{x}")
        async def again(x: str) -> None:
            return None

    assert ok.topic(x="a") == "ok:a"


async def test_an_app_without_channels_serves_no_socket(app: Tidal) -> None:
    from tidal.realtime import install

    channels = install(app)
    async with TestClient(app) as client:
        with pytest.raises(WebSocketRejected):
            async with client.websocket_connect(PATH):
                pass
        assert (await client.get("/_tidal/static/tidal/tidal.js")).status_code == 404
        assert not channels.started  # nothing connected, nothing started
        await channels.publish("news", "hello", 1)  # publishing starts it on demand
        assert channels.started


async def test_an_authenticate_hook_may_accept_and_read_the_first_frame(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    """Like tidal.security's session check, which reads the CSRF token from the first
    message: the socket is then already accepted, and later auth frames are ignored."""
    app, channels = make_rt_app()

    async def first_message_token(websocket: WebSocket) -> dict[str, str]:
        await websocket.accept()
        first = await websocket.receive_json()
        if first.get("csrf_token") != "s3cret":
            raise HTTPError(403, "Bad CSRF token.")
        return {"id": "7"}

    channels.authenticate = first_message_token

    @app.channel("room:{name}")
    async def room(user: dict[str, str]) -> dict[str, str]:
        return user

    async with TestClient(app) as client, client.websocket_connect(PATH) as socket:
        await socket.send_json({"type": "auth", "csrf_token": "s3cret"})
        assert (await joined(socket, "room:a"))["payload"] == {"id": "7"}
        await socket.send_json({"type": "auth", "csrf_token": "again"})  # ignored
        await socket.send_json({"type": "heartbeat", "ref": 2})
        assert await socket.receive_json() == {"type": "heartbeat", "ref": 2}
    async with TestClient(app) as client, client.websocket_connect(PATH) as socket:
        await socket.send_json({"type": "auth", "csrf_token": "wrong"})
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive_json()
        assert (closed.value.code, closed.value.reason) == (1008, "Bad CSRF token.")


async def test_names_are_validated(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> None:
    app, channels = make_rt_app()

    @app.channel("room:{a}:{b:int}")
    async def room(a: str, b: int) -> None:
        return None

    assert channels.match("room:x:2") == (room, {"a": "x", "b": 2})
    assert channels.match("room:x:y:2") is None  # a str parameter stops at ":"
    assert channels.match("room:x:two") is None
    async with TestClient(app):
        for topic in ("", "has space", "x" * 201, "tab\there"):
            with pytest.raises(ValueError, match="Invalid topic"):
                await channels.publish(topic, "e")
        with pytest.raises(ValueError, match="Invalid event name"):
            await channels.publish("room:x:1", "new\nline")


async def test_reauthorize_user_leaves_topics_the_user_may_no_longer_see(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app()
    members = {"ann", "bob"}

    async def authenticate(websocket: WebSocket) -> dict[str, str]:
        return {"id": websocket.headers["x-user"]}

    channels.authenticate = authenticate

    @app.channel("club:{name}", presence=True)
    async def club(socket: Socket, topic: str, user: dict[str, str]) -> None:
        if user["id"] not in members:
            raise Refused("Members only.")
        await socket.track(topic, {"name": user["id"]})

    async with TestClient(app) as client:
        ann = client.websocket_connect(PATH, headers={"x-user": "ann"})
        bob = client.websocket_connect(PATH, headers={"x-user": "bob"})
        async with ann, bob:
            for socket in (ann, bob):
                assert (await joined(socket, "club:x"))["status"] == "ok"
            await eventually(lambda: len(channels.sockets) == 2)
            await asyncio.sleep(0.05)
            members.discard("bob")
            await channels.reauthorize_user("bob")
            frames = [await bob.receive_json()]
            while frames[-1]["type"] != "left":
                frames.append(await bob.receive_json())
            assert frames[-1] == {"type": "left", "topic": "club:x", "reason": "Members only."}
            await eventually(lambda: list(channels.hub.topics["club:x"].groups[None]) != [])
            assert sorted(await channels.who("club:x")) == ["ann"]
            await channels.publish("club:x", "news", 1)
            while (await ann.receive_json()).get("event") != "news":
                pass  # ann still gets it ...
            await bob.send_json({"type": "heartbeat", "ref": 5})
            assert await bob.receive_json() == {"type": "heartbeat", "ref": 5}  # ... bob not


async def test_credentials_the_authenticate_hook_names_can_be_revoked_or_expired(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app()

    async def authenticate(websocket: WebSocket) -> dict[str, str]:
        name = websocket.headers["x-key"]
        websocket.scope[CREDENTIAL_KEY] = f"key:{name}"
        websocket.scope[EXPIRES_KEY] = time.time() + 3600
        return {"id": name}

    channels.authenticate = authenticate

    @app.channel("room:{name}")
    async def room() -> None:
        return None

    async with TestClient(app) as client:
        one = client.websocket_connect(PATH, headers={"x-key": "one"})
        two = client.websocket_connect(PATH, headers={"x-key": "two"})
        other = client.websocket_connect(PATH, headers={"x-key": "other"})
        async with one, two, other:
            for socket in (one, two, other):
                assert (await joined(socket, "room:a"))["status"] == "ok"
            await channels.revoke_credential("key:one", reason="key revoked")
            await channels.expire_credential("key:two", time.time() - 1)
            for socket, reason in ((one, "key revoked"), (two, "token expired")):
                with pytest.raises(WebSocketClosed) as closed:
                    await socket.receive_json()
                assert (closed.value.code, closed.value.reason) == (1008, reason)
            await channels.expire_credential("key:other", None)  # never, now
            await other.send_json({"type": "heartbeat", "ref": 1})
            assert await other.receive_json() == {"type": "heartbeat", "ref": 1}


async def test_reauthorize_all_reloads_each_user_and_closes_those_it_cannot_check(
    make_rt_app: Callable[..., tuple[Tidal, Channels]], caplog: pytest.LogCaptureFixture
) -> None:
    app, channels = make_rt_app()
    reloaded: list[str] = []

    async def authenticate(websocket: WebSocket) -> dict[str, str]:
        return {"id": websocket.headers["x-user"], "role": "old"}

    async def refresh_user(user: dict[str, str]) -> dict[str, str] | None:
        reloaded.append(user["id"])
        if user["id"] == "gone":
            return None
        if user["id"] == "broken":
            raise RuntimeError("database down")
        return {**user, "role": "new"}

    channels.authenticate = authenticate
    channels.refresh_user = refresh_user

    @app.channel("room:{name}")
    async def room(user: dict[str, str]) -> str:
        return user["role"]

    @room.on("role")
    async def role(user: dict[str, str]) -> str:
        return user["role"]

    async with TestClient(app) as client:
        sockets = {
            name: client.websocket_connect(PATH, headers={"x-user": name})
            for name in ("ann", "gone", "broken")
        }
        async with sockets["ann"] as ann, sockets["gone"] as gone, sockets["broken"] as broken:
            for socket in (ann, gone, broken):
                assert (await joined(socket, "room:a"))["payload"] == "old"
            await eventually(lambda: len(channels.sockets) == 3)
            with caplog.at_level(logging.ERROR, "tidal.realtime"):
                await channels.reauthorize_all()
                for socket, code in ((gone, 1008), (broken, 1011)):
                    with pytest.raises(WebSocketClosed) as closed:
                        await socket.receive_json()
                    assert closed.value.code == code
            assert "database down" in caplog.text
            await eventually(lambda: "ann" in reloaded)  # (reloaded, then set at once)
            await ann.send_json({"type": "event", "ref": 2, "topic": "room:a", "event": "role"})
            assert (await ann.receive_json())["payload"] == "new"  # handlers see the new user
    assert sorted(reloaded) == ["ann", "broken", "gone"]
