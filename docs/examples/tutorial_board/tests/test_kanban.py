"""Members see the board and each other's moves live; everyone else is kept out."""

from collections.abc import Awaitable, Callable

from tidal import Tidal
from tidal.testing import TestClient

LogIn = Callable[[TestClient, str], Awaitable[str]]


async def test_members_see_the_board_others_get_404(app: Tidal, log_in: LogIn) -> None:
    async with TestClient(app) as client:
        await log_in(client, "bob")
        assert "Chores" in (await client.get("/boards/1")).text
    async with TestClient(app) as client:
        await log_in(client, "eve")
        assert (await client.get("/boards/1")).status_code == 404


async def test_a_move_reaches_the_other_members_page(app: Tidal, log_in: LogIn) -> None:
    async with TestClient(app) as ann, TestClient(app) as bob:
        ann_token = await log_in(ann, "ann")
        bob_token = await log_in(bob, "bob")
        card = {"title": "Water the plants", "csrf_token": ann_token}
        await ann.post("/boards/1/cards", data=card)
        cookie = {"cookie": f"tidal_session={bob.cookies['tidal_session']}"}
        async with bob.websocket_connect("/_tidal/socket", headers=cookie) as socket:
            await socket.send_json({"type": "auth", "csrf_token": bob_token})
            await socket.send_json({"type": "join", "ref": 1, "topic": "board:1"})
            assert (await socket.receive_json())["status"] == "ok"
            moved = await ann.post(
                "/cards/1/move", json={"status": "done"}, headers={"X-CSRF-Token": ann_token}
            )
            assert moved.json() == {"id": 1, "status": "done"}
            while (frame := await socket.receive_json())["type"] != "event":
                pass  # presence frames
            assert frame["event"] == "card:update"
            assert frame["data"]["data"]["status"] == "done"


async def test_non_members_cannot_join_the_channel(app: Tidal, log_in: LogIn) -> None:
    async with TestClient(app) as client:
        token = await log_in(client, "eve")
        cookie = {"cookie": f"tidal_session={client.cookies['tidal_session']}"}
        async with client.websocket_connect("/_tidal/socket", headers=cookie) as socket:
            await socket.send_json({"type": "auth", "csrf_token": token})
            await socket.send_json({"type": "join", "ref": 1, "topic": "board:1"})
            reply = await socket.receive_json()
        assert reply["status"] == "error"
        assert reply["payload"] == {"reason": "You are not a member of this board."}
