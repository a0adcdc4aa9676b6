"""Two uvicorn worker processes sharing Redis: an HTTP request handled by one reaches a
WebSocket client of the other; presence spans both; a killed worker's presence expires; a
client of a worker that shuts down (1012) resumes on the other without missing anything."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from tests.realtime.conftest import REDIS_URL
from tests.realtime.servers import Server

PATH = "/_tidal/socket"


@pytest.fixture
def workers(tmp_path: Path, prefix: str, redis_client: Redis) -> Iterator[tuple[Server, Server]]:
    env = {
        "TIDAL_REDIS_URL": REDIS_URL,
        "TIDAL_REALTIME_REDIS_PREFIX": prefix,
        "TIDAL_REALTIME_PRESENCE_TTL": "1.5",
    }
    one = Server(tmp_path / "one.log", env).start()
    two = Server(tmp_path / "two.log", env).start()
    yield one, two
    for server in (one, two):
        output = server.stop()
        assert "Traceback" not in output, output


async def drain(ws: ClientConnection, timeout: float = 5) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), timeout)


async def frames_until(ws: ClientConnection, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return dict(frame)

    return await asyncio.wait_for(find(), timeout)


async def test_a_publish_on_one_worker_reaches_a_socket_on_the_other(
    workers: tuple[Server, Server],
) -> None:
    one, two = workers
    async with websockets.connect(two.ws_url + PATH) as listener:
        await listener.send(json.dumps({"type": "join", "ref": 1, "topic": "room:x"}))
        reply = await frames_until(listener, lambda f: f["type"] == "reply")
        async with httpx.AsyncClient(base_url=one.url) as client:
            published = (await client.post("/publish/x?count=3")).json()
        assert published["worker"] != reply["payload"]["worker"]  # really two processes
        events = [await frames_until(listener, lambda f: f["type"] == "event") for _ in range(3)]
        assert [e["id"] for e in events] == published["ids"]
        assert [e["data"]["n"] for e in events] == [0, 1, 2]


async def test_presence_spans_workers_and_a_killed_worker_leaves(
    workers: tuple[Server, Server],
) -> None:
    one, two = workers
    async with websockets.connect(two.ws_url + PATH) as bea:
        await bea.send(
            json.dumps({"type": "join", "ref": 1, "topic": "room:p", "payload": {"name": "bea"}})
        )
        await frames_until(bea, lambda f: f["type"] == "presence" and "state" in f)
        al = await websockets.connect(one.ws_url + PATH)
        await al.send(
            json.dumps({"type": "join", "ref": 1, "topic": "room:p", "payload": {"name": "al"}})
        )
        joined = await frames_until(
            bea,
            lambda f: (
                f["type"] == "presence"
                and any(m["name"] == "al" for ms in f.get("joins", {}).values() for m in ms)
            ),
        )
        assert joined["leaves"] == {}
        one.stop(signal.SIGKILL)  # no goodbye: its entries must expire
        left = await frames_until(
            bea,
            lambda f: (
                f["type"] == "presence"
                and any(m["name"] == "al" for ms in f.get("leaves", {}).values() for m in ms)
            ),
        )
        assert left["joins"] == {}
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await drain(al)  # what it had received before the kill, then the dead connection


async def test_a_client_of_a_stopping_worker_resumes_on_another_without_a_gap(
    workers: tuple[Server, Server],
) -> None:
    one, two = workers
    async with httpx.AsyncClient(base_url=two.url) as client:
        async with websockets.connect(one.ws_url + PATH) as ws:
            await ws.send(json.dumps({"type": "join", "ref": 1, "topic": "room:r"}))
            await frames_until(ws, lambda f: f["type"] == "reply")
            await client.post("/publish/r")
            seen = await frames_until(ws, lambda f: f["type"] == "event")
            one.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await drain(ws, 10)
            assert closed.value.rcvd is not None
            # uvicorn closes its sockets itself (1012, no reason) before the app's shutdown runs.
            assert closed.value.rcvd.code == 1012
        missed = (await client.post("/publish/r?count=2")).json()["ids"]  # while away
        async with websockets.connect(two.ws_url + PATH) as ws:  # what tidal.js does at once
            join = {"type": "join", "ref": 1, "topic": "room:r", "since": seen["id"]}
            await ws.send(json.dumps(join))
            reply = await frames_until(ws, lambda f: f["type"] == "reply")
            assert reply["status"] == "ok"
            assert not reply.get("gone")
            events = [await frames_until(ws, lambda f: f["type"] == "event") for _ in missed]
            assert [e["id"] for e in events] == missed
