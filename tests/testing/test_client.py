"""The test client runs the lifespan, and WebSocket sessions behave like a real peer."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tidal import Tidal, WebSocket, WebSocketDisconnect
from tidal.testing import TestClient, WebSocketClosed, WebSocketRejected


async def test_lifespan_hooks_and_context(app: Tidal) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Tidal) -> AsyncIterator[None]:
        events.append("enter")
        yield
        events.append("exit")

    app.lifespan_context = lifespan
    app.on_startup(lambda: events.append("sync start"))

    async def async_start() -> None:
        events.append("async start")

    app.on_startup(async_start)
    app.on_shutdown(lambda: events.append("stop first hook"))
    app.on_shutdown(lambda: events.append("stop second hook"))
    async with TestClient(app):
        assert events == ["sync start", "async start", "enter"]
    # Shutdown hooks run last registered first: a part stops before the parts it relies on.
    assert events == [
        "sync start",
        "async start",
        "enter",
        "stop second hook",
        "stop first hook",
        "exit",
    ]


async def test_websocket_session_round_trip_and_close_codes(app: Tidal) -> None:
    @app.websocket("/chat")
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="tidal.v1")
        try:
            while True:
                data = await websocket.receive_json()
                if data.get("bye"):
                    await websocket.close(code=4000, reason="bye")
                    return
                await websocket.send_json({"echo": data})
        except WebSocketDisconnect:
            return

    async with TestClient(app) as client:
        async with client.websocket_connect("/chat", subprotocols=["tidal.v1"]) as socket:
            assert socket.accepted_subprotocol == "tidal.v1"
            await socket.send_json({"n": 1})
            assert await socket.receive_json() == {"echo": {"n": 1}}
            await socket.send_json({"bye": True})
            with pytest.raises(WebSocketClosed) as closed:
                await socket.receive()
            assert (closed.value.code, closed.value.reason) == (4000, "bye")


async def test_websocket_refused_and_crashing_handlers(app: Tidal) -> None:
    @app.websocket("/refuse")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    @app.websocket("/crash")
    async def crash(websocket: WebSocket) -> None:
        await websocket.accept()
        raise RuntimeError("handler bug")

    @app.websocket("/needs/{n:int}")
    async def needs(websocket: WebSocket, n: int, token: str) -> None:
        await websocket.accept()

    async with TestClient(app) as client:
        with pytest.raises(WebSocketRejected) as refused:
            async with client.websocket_connect("/refuse"):
                pass
        assert refused.value.code == 1008
        async with client.websocket_connect("/crash") as socket:
            with pytest.raises(WebSocketClosed) as crashed:
                await socket.receive()
        assert crashed.value.code == 1011
        with pytest.raises(WebSocketRejected) as invalid:
            async with client.websocket_connect("/needs/3"):
                pass
        assert invalid.value.code == 1008
        assert "invalid field" in invalid.value.reason


async def test_receive_times_out_instead_of_hanging(app: Tidal) -> None:
    @app.websocket("/silent")
    async def silent(websocket: WebSocket) -> None:
        await websocket.accept()
        await asyncio.sleep(10)

    async with TestClient(app) as client:
        async with client.websocket_connect("/silent", timeout=0.2) as socket:
            with pytest.raises(TimeoutError, match=r"No WebSocket message within 0\.2s"):
                await socket.receive()
