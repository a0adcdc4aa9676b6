"""Presence through channel sockets, on both backends: state on join, join/leave diffs with
metadata, updates, and the entries of a crashed worker expiring on the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.realtime.support import eventually
from tidal import Tidal, WebSocket
from tidal.realtime import Channels, Socket
from tidal.testing import TestClient, WebSocketSession

PATH = "/_tidal/socket"
NAMES = {"1": ("Ann", "red"), "2": ("Bob", "blue")}


def build(app: Tidal, channels: Channels) -> None:
    async def authenticate(websocket: WebSocket) -> dict[str, str]:
        return {"id": websocket.headers["x-user"]}

    channels.authenticate = authenticate

    @app.channel("doc:{doc_id:int}", presence=True)
    async def doc(socket: Socket, topic: str) -> None:
        name, colour = NAMES[socket.user_key or ""]
        await socket.track(topic, {"name": name, "colour": colour})

    @doc.on("typing")
    async def typing(socket: Socket, topic: str, payload: bool) -> None:
        name, colour = NAMES[socket.user_key or ""]
        await socket.track(topic, {"name": name, "colour": colour, "typing": payload})


def strip(metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in meta.items() if k != "ref"} for meta in metas]


async def next_presence(socket: WebSocketSession) -> dict[str, Any]:
    while True:
        frame = await socket.receive_json()
        if frame["type"] == "presence":
            return dict(frame)


async def join(socket: WebSocketSession, topic: str) -> dict[str, Any]:
    """Join; returns the presence state sent after the reply."""
    await socket.send_json({"type": "join", "ref": 1, "topic": topic})
    assert (await socket.receive_json())["status"] == "ok"
    state = await next_presence(socket)
    assert "state" in state
    return dict(state["state"])


async def test_state_and_diffs_with_metadata(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app, channels = make_rt_app()
    build(app, channels)
    async with TestClient(app) as client:
        ann = client.websocket_connect(PATH, headers={"x-user": "1"})
        bob = client.websocket_connect(PATH, headers={"x-user": "2"})
        async with ann:
            assert await join(ann, "doc:1") == {}
            own = await next_presence(ann)  # its own join, announced to everyone
            assert strip(own["joins"]["1"]) == [{"name": "Ann", "colour": "red"}]
            async with bob:
                state = await join(bob, "doc:1")
                assert {k: strip(v) for k, v in state.items()} == {
                    "1": [{"name": "Ann", "colour": "red"}]
                }
                diff = await next_presence(ann)
                assert strip(diff["joins"]["2"]) == [{"name": "Bob", "colour": "blue"}]
                assert diff["leaves"] == {}

                await bob.send_json(
                    {"type": "event", "topic": "doc:1", "event": "typing", "payload": True}
                )
                update = await next_presence(ann)
                assert strip(update["joins"]["2"]) == [
                    {"name": "Bob", "colour": "blue", "typing": True}
                ]
                assert update["leaves"]["2"][0]["ref"] == update["joins"]["2"][0]["ref"]
                who = await channels.who("doc:1")
                assert sorted(who) == ["1", "2"]
                assert who["2"][0]["typing"] is True
            left = await next_presence(ann)
            assert list(left["leaves"]) == ["2"]
            assert left["joins"] == {}
        await eventually(lambda: not channels.sockets)
        assert await channels.who("doc:1") == {}


async def test_a_crashed_workers_entries_expire_and_are_announced(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    settings = {"realtime_presence_ttl": 0.6}
    doomed_app, doomed = make_rt_app(**settings)
    survivor_app, survivor = make_rt_app(**settings)
    build(doomed_app, doomed)
    build(survivor_app, survivor)
    if doomed.settings.redis_url is None:
        from tidal.realtime.backends import MemoryPubSub

        shared = MemoryPubSub(presence_ttl=0.6)
        doomed.backend = shared
        survivor.backend = MemoryPubSub(presence_ttl=0.6, broker=shared.broker)
    async with TestClient(doomed_app) as one, TestClient(survivor_app) as two:
        ann = one.websocket_connect(PATH, headers={"x-user": "1"})
        bob = two.websocket_connect(PATH, headers={"x-user": "2"})
        async with ann, bob:
            await join(ann, "doc:9")
            await eventually(lambda: doomed.hub.members("doc:9") == 1)
            await asyncio.sleep(0.05)
            state = await join(bob, "doc:9")
            assert list(state) == ["1"]
            # The doomed worker dies: no more heartbeats, no cleanup.
            assert doomed.hub._ticker is not None
            doomed.hub._ticker.cancel()
            doomed.hub.backend.abandon()  # type: ignore[attr-defined]
            leave = await asyncio.wait_for(_leave_of(bob, "1"), 5)
            assert strip(leave["leaves"]["1"]) == [{"name": "Ann", "colour": "red"}]
            assert list(await survivor.who("doc:9")) == ["2"]


async def _leave_of(socket: WebSocketSession, key: str) -> dict[str, Any]:
    while True:
        frame = await next_presence(socket)
        if key in frame.get("leaves", {}):
            return frame
