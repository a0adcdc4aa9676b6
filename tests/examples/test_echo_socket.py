"""Tests for docs/examples/echo_socket.py, shown in full in docs/topics/testing.md."""

from collections.abc import Callable

import echo_socket
import pytest

from tidal import Tidal
from tidal.testing import TestClient, WebSocketClosed, WebSocketRejected, WebSocketSession


@pytest.fixture
def app() -> Tidal:
    """The application under test; the plugin's ``client`` and ``ws`` fixtures use it."""
    return echo_socket.app


async def test_index(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_echo(ws: Callable[..., WebSocketSession]) -> None:
    async with ws("/echo?name=ann") as socket:
        await socket.send_text("hello")
        assert await socket.receive_json() == {"from": "ann", "text": "HELLO"}
        await socket.send_text("bye")
        with pytest.raises(WebSocketClosed) as closed:
            await socket.receive_text()
    assert (closed.value.code, closed.value.reason) == (4000, "Goodbye")


async def test_room_needs_a_key(client: TestClient) -> None:
    with pytest.raises(WebSocketRejected) as refused:
        async with client.websocket_connect("/room"):
            pass
    assert (refused.value.code, refused.value.reason) == (1008, "Wrong room key.")

    async with client.websocket_connect("/room?key=open-sesame") as socket:
        assert await socket.receive_text() == "welcome"


async def test_without_fixtures(app: Tidal) -> None:
    async with TestClient(app) as client:
        assert (await client.get("/missing")).status_code == 404
        with pytest.raises(WebSocketRejected) as refused:
            async with client.websocket_connect("/missing"):
                pass
    assert refused.value.code == 1008
