"""RFC 6455 edges and limits through a real uvicorn process: oversize frames (1009),
invalid UTF-8 (1007, no traceback logged), the message rate (1008), refused origins (403),
a consumer that stops reading (cut off, 1013, others unaffected), and SIGTERM (1012)."""

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
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.realtime.servers import RawWebSocket, Server

PATH = "/_tidal/socket"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(
        tmp_path / "server.log",
        {
            "TIDAL_REALTIME_RATE": "20",
            "TIDAL_REALTIME_BURST": "30",
            "TIDAL_REALTIME_SEND_QUEUE": "64",
            "TIDAL_REALTIME_MAX_MESSAGE": "1000000",
        },
        ws_max_size=4096,
    ).start()
    yield running
    output = running.stop()
    assert "Traceback" not in output, output


async def drain(ws: ClientConnection, timeout: float = 5) -> None:
    """Read until the connection closes (raising ``ConnectionClosed``)."""
    while True:
        await asyncio.wait_for(ws.recv(), timeout)


async def join(ws: ClientConnection, topic: str = "room:main", **payload: Any) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "join", "ref": 1, "topic": topic, "payload": payload}))
    reply = json.loads(await ws.recv())
    assert reply["type"] == "reply"
    if reply["status"] == "ok":
        assert json.loads(await ws.recv())["type"] == "presence"  # the room's state
    return dict(reply)


async def test_a_frame_over_the_size_limit_closes_with_1009(server: Server) -> None:
    async with websockets.connect(server.ws_url + PATH, max_size=None) as ws:
        await join(ws)
        await ws.send(json.dumps({"type": "heartbeat", "ref": "x" * 10_000}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


async def test_invalid_utf8_closes_with_1007_without_a_traceback(server: Server) -> None:
    raw = await RawWebSocket.connect(server.port, PATH)
    try:
        await raw.send_frame(0x1, b'{"type": "heartbeat", "ref": "\xff\xfe"}')
        assert await raw.close_code() == 1007
    finally:
        raw.close()
    async with websockets.connect(server.ws_url + PATH) as ws:  # the server carries on
        assert (await join(ws))["status"] == "ok"
    # (the fixture asserts that no traceback was logged)


async def test_bad_json_gets_an_error_frame_and_the_socket_lives(server: Server) -> None:
    async with websockets.connect(server.ws_url + PATH) as ws:
        await ws.send("{not json")
        assert json.loads(await ws.recv())["code"] == "bad-json"
        await ws.send(json.dumps({"type": "heartbeat", "ref": 1}))
        assert json.loads(await ws.recv()) == {"type": "heartbeat", "ref": 1}


async def test_the_message_rate_limit_closes_with_1008(server: Server) -> None:
    async with websockets.connect(server.ws_url + PATH) as ws:
        for n in range(100):
            try:
                await ws.send(json.dumps({"type": "heartbeat", "ref": n}))
            except ConnectionClosed:
                break
        with pytest.raises(ConnectionClosed) as closed:
            await drain(ws)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "rate limit exceeded")


async def test_a_cross_site_handshake_is_refused_with_403(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(server.ws_url + PATH, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(
        server.ws_url + PATH,
        origin=f"http://127.0.0.1:{server.port}",  # type: ignore[arg-type]
    ) as ws:
        assert (await join(ws))["status"] == "ok"


async def test_a_client_that_stops_reading_is_cut_off_and_others_keep_up(
    server: Server,
) -> None:
    raw = await RawWebSocket.connect(server.port, PATH)
    join_frame = json.dumps({"type": "join", "ref": 1, "topic": "room:flood"}).encode()
    await raw.send_frame(0x1, join_frame)
    _opcode, reply = await raw.receive_frame()
    assert json.loads(reply)["status"] == "ok"
    await raw.receive_frame()  # the presence state
    # From now on the raw client reads nothing: its TCP buffers fill, then its queue.
    received = 0
    async with websockets.connect(server.ws_url + PATH, max_size=None) as fast:
        await join(fast, "room:flood")

        async def read_all() -> None:
            nonlocal received
            while received < 400:
                frame = json.loads(await fast.recv())
                if frame.get("event") == "said":
                    received += 1

        reader = asyncio.ensure_future(read_all())
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for _ in range(8):
                response = await client.post("/publish/flood?count=50&size=65536")
                assert response.status_code == 200
            await asyncio.wait_for(reader, 30)
            stats = (await client.get("/stats?room=flood")).json()
            assert stats["members"] == 1  # the slow one was detached at once
        assert received == 400
    # When the slow client reads again, it drains its buffers and finds the close: 1013.
    assert await asyncio.wait_for(raw.close_code(), 10) == 1013
    raw.close()
    log = server.output()
    assert "did not read fast enough" in log


async def test_sigterm_tells_clients_to_reconnect_with_1012(tmp_path: Path) -> None:
    server = Server(tmp_path / "server.log").start()
    try:
        async with websockets.connect(server.ws_url + PATH) as ws:
            await join(ws)
            server.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            with pytest.raises(ConnectionClosed) as closed:
                await drain(ws, 10)
            assert closed.value.rcvd is not None
            # uvicorn closes its sockets itself (1012, no reason) before the app's shutdown runs.
            assert closed.value.rcvd.code == 1012
    finally:
        output = server.stop()
    assert "Traceback" not in output, output
