"""The demo board in-process: accounts and CSRF, who may see what over HTTP and over the
socket, live broadcasts to members only, the JSON API with bearer tokens and its OpenAPI
document, and moving cards. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

import tidal.db
from tidal import Depends, Tidal
from tidal.testing import TestClient, WebSocketClosed, WebSocketSession

from .conftest import PASSWORD, csrf_of, join, log_in, next_event, socket_of

HTML = {"Accept": "text/html"}


async def token_for(app: Tidal, username: str) -> dict[str, str]:
    """An API token for ``username``, asked for like a phone app would: no cookies."""
    async with TestClient(app, lifespan=False) as phone:
        body = {"username": username, "password": PASSWORD}
        answer = await phone.post("/api/token", json=body)
    assert answer.status_code == 201, answer.text
    assert "set-cookie" not in answer.headers  # a token, not a session
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def positions(app: Tidal) -> dict[str, tuple[str, int]]:
    """Every card of board 1: title -> (list title, position)."""
    from board.models import BoardList, Card

    async with tidal.db.session(app) as db:
        rows = await db.execute(
            select(Card.title, BoardList.title, Card.position)
            .join(BoardList, BoardList.id == Card.list_id)
            .where(Card.board_id == 1)
        )
        return {card: (column, position) for card, column, position in rows}


async def drain(socket: WebSocketSession) -> None:
    """Read frames until the socket closes (``WebSocketClosed``)."""
    while True:
        await socket.receive_json()


def column(found: dict[str, tuple[str, int]], name: str) -> list[str]:
    """The titles of one list, top to bottom."""
    cards = [(position, title) for title, (where, position) in found.items() if where == name]
    return [title for _, title in sorted(cards)]


# -- accounts, pages and CSRF ----------------------------------------------------------------


async def test_pages_send_anonymous_browsers_to_the_login_page(app: Tidal) -> None:
    async with TestClient(app) as client:
        answer = await client.get("/boards/1", headers=HTML)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/auth/login?next=/boards/1"
        assert (await client.get("/api/boards")).status_code == 401


async def test_signing_up_logs_in_and_needs_the_csrf_token(app: Tidal) -> None:
    async with TestClient(app) as client:
        page = await client.get("/signup")
        form = {"username": "kim", "password": "a long passphrase", "password_again": ""}
        refused = await client.post("/signup", data={**form, "password_again": form["password"]})
        assert refused.status_code == 403  # no CSRF token
        token = csrf_of(page.text)
        mismatch = await client.post(
            "/signup", data={**form, "password_again": "another", "csrf_token": token}
        )
        assert mismatch.status_code == 422
        assert "The two passwords differ." in mismatch.text
        taken = {**form, "username": "sam", "password_again": form["password"]}
        answer = await client.post("/signup", data={**taken, "csrf_token": token})
        assert "This username is taken" in answer.text
        form["password_again"] = form["password"]
        answer = await client.post("/signup", data={**form, "csrf_token": token})
        assert (answer.status_code, answer.headers["location"]) == (303, "/boards")
        boards = await client.get("/boards")
        assert "Welcome, kim!" in boards.text
        assert "You are not on any board yet" in boards.text


async def test_board_forms_are_csrf_protected(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = await log_in(client, "demo")
        assert (await client.post("/boards", data={"title": "Forged"})).status_code == 403
        created = await client.post("/boards", data={"title": "Roadmap", "csrf_token": token})
        assert created.status_code == 303
        page = await client.get(created.headers["location"])
        assert '<h1 id="board-title">Roadmap</h1>' in page.text
        for title in ("To do", "Doing", "Done"):
            assert f'<h2 class="list-title">{title}</h2>' in page.text
        # The logout form needs its token too: a forged one keeps the session.
        assert (await client.post("/auth/logout")).status_code == 403
        assert (await client.get("/boards")).status_code == 200


async def test_the_card_page_edits_comments_and_moves_with_forms(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = await log_in(client, "sam")
        page = await client.get("/cards/1")
        assert page.status_code == 200
        assert "Write the launch announcement" in page.text
        edit = {"title": "Write the announcement", "description": "Short.", "csrf_token": token}
        assert (await client.post("/cards/1", data=edit)).status_code == 303
        comment = {"body": "<b>On it</b>", "csrf_token": token}
        assert (await client.post("/cards/1/comments", data=comment)).status_code == 303
        page = await client.get("/cards/1")
        assert "&lt;b&gt;On it&lt;/b&gt;" in page.text  # escaped, never markup
        detail = (await client.get("/api/cards/1")).json()
        assert detail["card"]["title"] == "Write the announcement"
        assert detail["card"]["comment_count"] == 1
        assert [c["author"] for c in detail["comments"]] == ["sam"]
        move = {"list_id": "3", "position": "0", "csrf_token": token}
        assert (await client.post("/cards/1/move", data=move)).headers["location"] == "/boards/1"
    assert column(await positions(app), "Done")[0] == "Write the announcement"


# -- who may see what ---------------------------------------------------------------------------


async def test_non_members_get_404_for_pages_and_the_api(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = await log_in(client, "eve")
        for path in ("/boards/1", "/cards/1"):
            assert (await client.get(path, headers=HTML)).status_code == 404, path
        forged = {"title": "mine now", "csrf_token": token}
        assert (await client.post("/lists/1/cards", data=forged)).status_code == 404
        bearer = await token_for(app, "eve")
        client.cookies.clear()
        answers = [
            await client.get("/api/boards/1", headers=bearer),
            await client.get("/api/cards/1", headers=bearer),
            await client.post(
                "/api/cards/1/move", json={"list_id": 2, "position": 0}, headers=bearer
            ),
            await client.post("/api/lists/1/cards", json={"title": "x"}, headers=bearer),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404, 404]
        assert answers[0].json()["detail"] == "No board with id 1."
        assert (await client.get("/api/boards", headers=bearer)).json() == []


async def test_only_the_owner_manages_members(app: Tidal) -> None:
    async with TestClient(app) as client:
        sam = await token_for(app, "sam")
        refused = await client.post("/api/boards/1/members", json={"username": "eve"}, headers=sam)
        assert refused.status_code == 403
        demo = await token_for(app, "demo")
        added = await client.post("/api/boards/1/members", json={"username": "eve"}, headers=demo)
        assert (added.status_code, added.json()["username"]) == (201, "eve")
        again = await client.post("/api/boards/1/members", json={"username": "eve"}, headers=demo)
        assert again.status_code == 409
        nobody = await client.post("/api/boards/1/members", json={"username": "zed"}, headers=demo)
        assert nobody.json()["detail"] == "There is no user called 'zed'."
        eve = await token_for(app, "eve")
        assert (await client.get("/api/boards/1", headers=eve)).status_code == 200
        gone = await client.delete("/api/boards/1/members/3", headers=demo)
        assert gone.status_code == 204
        assert (await client.get("/api/boards/1", headers=eve)).status_code == 404


async def test_a_non_member_cannot_join_the_boards_channel(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = await log_in(client, "eve")
        async with socket_of(client) as socket:
            refused = await join(socket, "board:1", token)
            assert refused["status"] == "error"
            assert refused["payload"] == {"reason": "You are not a member of this board."}
            anonymous_topic = await join(socket, "board:999", None, ref=2)
            assert anonymous_topic["status"] == "error"
    async with TestClient(app) as anonymous, socket_of(anonymous) as socket:
        refused = await join(socket, "board:1", None)
        assert refused["payload"] == {"reason": "Log in to see this board."}


async def test_changes_reach_the_members_sockets_and_no_one_elses(app: Tidal) -> None:
    async with TestClient(app) as demo, TestClient(app) as eve:
        demo_token = await log_in(demo, "demo")
        eve_token = await log_in(eve, "eve")
        eve_board = await eve.post(
            "/api/boards", json={"title": "Eve's"}, headers={"X-CSRF-Token": eve_token}
        )
        eve_list = eve_board.json()["lists"][0]["id"]
        async with socket_of(demo) as watcher, socket_of(eve) as outsider:
            joined = await join(watcher, "board:1", demo_token)
            assert joined["payload"] == {"board": 1, "you": "demo"}
            assert (await join(outsider, f"board:{eve_board.json()['id']}", eve_token))[
                "status"
            ] == "ok"
            sam = await token_for(app, "sam")
            moved = await demo.post(
                "/api/cards/1/move", json={"list_id": 2, "position": 0}, headers=sam
            )
            assert moved.status_code == 200
            event = await next_event(watcher)
            assert event["topic"] == "board:1"
            assert event["event"] == "card:update"
            updates = {event["data"]["data"]["id"]: event["data"]["data"]}
            while 1 not in updates:
                event = await next_event(watcher)
                updates[event["data"]["data"]["id"]] = event["data"]["data"]
            assert (updates[1]["list_id"], updates[1]["position"]) == (2, 0)
            # Eve's socket got none of that: the first event it sees is her own board's.
            headers = {"X-CSRF-Token": eve_token}
            await eve.post(f"/api/lists/{eve_list}/cards", json={"title": "Mine"}, headers=headers)
            first = await next_event(outsider)
            assert (first["event"], first["data"]["data"]["title"]) == ("card:insert", "Mine")


async def test_a_removed_member_is_taken_off_the_channel(app: Tidal) -> None:
    async with TestClient(app) as owner, TestClient(app) as sam:
        owner_token = await log_in(owner, "demo")
        sam_token = await log_in(sam, "sam")
        async with socket_of(sam) as socket:
            assert (await join(socket, "board:1", sam_token))["status"] == "ok"
            removed = await owner.post(
                "/boards/1/members/2/remove", data={"csrf_token": owner_token}
            )
            assert removed.status_code == 303
            while (frame := await socket.receive_json())["type"] != "left":
                pass  # the membership's own broadcast, presence
            assert frame["topic"] == "board:1"
        assert (await sam.get("/boards/1", headers=HTML)).status_code == 404


async def test_presence_lists_who_is_looking(app: Tidal) -> None:
    async with TestClient(app) as demo, TestClient(app) as sam:
        demo_token = await log_in(demo, "demo")
        sam_token = await log_in(sam, "sam")
        async with socket_of(demo) as first, socket_of(sam) as second:
            await join(first, "board:1", demo_token)
            await join(second, "board:1", sam_token)
            seen: set[str] = set()
            while seen != {"demo", "sam"}:
                frame = await first.receive_json()
                if frame["type"] == "presence":
                    entries = frame.get("state") or frame.get("joins") or {}
                    seen |= {meta["username"] for metas in entries.values() for meta in metas}
            assert seen == {"demo", "sam"}


async def test_logging_out_closes_the_socket(app: Tidal) -> None:
    async with TestClient(app) as client:
        token = await log_in(client, "demo")
        async with socket_of(client) as socket:
            assert (await join(socket, "board:1", token))["status"] == "ok"
            assert (
                await client.post("/auth/logout", data={"csrf_token": token})
            ).status_code == 303
            with pytest.raises(WebSocketClosed) as closed:
                await drain(socket)
            assert (closed.value.code, closed.value.reason) == (1008, "signed out")
        assert (await client.get("/boards/1", headers=HTML)).status_code == 303


# -- the JSON API ---------------------------------------------------------------------------------


async def test_the_api_with_a_bearer_token(app: Tidal) -> None:
    async with TestClient(app) as client:
        wrong = await client.post("/api/token", json={"username": "sam", "password": "nope"})
        assert wrong.status_code == 401
        sam = await token_for(app, "sam")
        boards = (await client.get("/api/boards", headers=sam)).json()
        assert [b["title"] for b in boards] == ["Launch plan", "Sam's reading list"]
        board = (await client.get("/api/boards/1", headers=sam)).json()
        assert [m["username"] for m in board["members"]] == ["demo", "sam"]
        assert [lst["title"] for lst in board["lists"]] == ["To do", "Doing", "Done"]
        assert len(board["cards"]) == 7
        card = await client.post(
            "/api/lists/1/cards", json={"title": "From the phone"}, headers=sam
        )
        assert card.status_code == 201
        assert card.json() | {"id": 0} == {
            "id": 0, "board_id": 1, "list_id": 1, "title": "From the phone",
            "description": "", "position": 3, "comment_count": 0,
        }  # fmt: skip
        card_id = card.json()["id"]
        patched = await client.patch(
            f"/api/cards/{card_id}", json={"description": "Sent from my phone"}, headers=sam
        )
        assert patched.json()["title"] == "From the phone"
        assert patched.json()["description"] == "Sent from my phone"
        comment = await client.post(
            f"/api/cards/{card_id}/comments", json={"body": "Looks good"}, headers=sam
        )
        assert (comment.status_code, comment.json()["author"]) == (201, "sam")
        invalid = await client.post("/api/lists/1/cards", json={"title": ""}, headers=sam)
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["path"] == "$.title"
        bad = await client.get("/api/boards", headers={"Authorization": "Bearer tdl_wrong"})
        assert bad.status_code == 401
        deleted = await client.delete(f"/api/cards/{card_id}", headers=sam)
        assert deleted.status_code == 204
        assert (await client.get(f"/api/cards/{card_id}", headers=sam)).status_code == 404


async def test_moving_cards_renumbers_and_persists(app: Tidal) -> None:
    async with TestClient(app) as client:
        demo = await token_for(app, "demo")

        async def move(card: int, list_id: int, position: int) -> Any:
            body = {"list_id": list_id, "position": position}
            return await client.post(f"/api/cards/{card}/move", json=body, headers=demo)

        assert (await move(1, 2, 1)).json()["position"] == 1  # To do -> Doing, second
        found = await positions(app)
        assert column(found, "To do") == [
            "Invite the beta testers",
            "Record a two-minute demo video",
        ]
        assert column(found, "Doing") == [
            "Fix the login redirect on Safari",
            "Write the launch announcement",
            "Design the onboarding e-mails",
        ]
        assert sorted(p for where, p in found.values() if where == "Doing") == [0, 1, 2]
        assert (await move(3, 1, 0)).status_code == 200  # up within its list
        assert column(await positions(app), "To do")[0] == "Record a two-minute demo video"
        assert (await move(2, 3, 99)).json()["position"] == 2  # past the end: last
        assert column(await positions(app), "Done")[-1] == "Invite the beta testers"
        other_board = await move(2, 4, 0)  # list 4 belongs to sam's own board
        assert other_board.status_code == 422
        assert other_board.json()["detail"] == "This board has no list with id 4."
        negative = await move(2, 3, -1)
        assert negative.status_code == 422


async def test_the_openapi_document_describes_the_api(app: Tidal) -> None:
    async with TestClient(app) as client:
        document = (await client.get("/openapi.json")).json()
    validate(document)
    paths = document["paths"]
    assert not [path for path in paths if not path.startswith("/api/")]  # pages are not API
    move = paths["/api/cards/{card_id}/move"]["post"]
    assert move["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MoveIn"
    }
    assert move["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CardOut"
    }
    assert move["tags"] == ["board API"]
    schemas = document["components"]["schemas"]
    assert set(schemas["CardOut"]["properties"]) == {
        "id", "board_id", "list_id", "title", "description", "position", "comment_count"
    }  # fmt: skip
    assert schemas["MoveIn"]["properties"]["position"] == {"type": "integer", "minimum": 0}
    detail = paths["/api/boards/{board_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"]["$ref"].endswith("/BoardDetail")
    assert set(schemas["BoardDetail"]["properties"]) >= {"members", "lists", "cards"}
    expected = {
        "/api/token": {"post"},
        "/api/boards": {"get", "post"},
        "/api/boards/{board_id}": {"get", "patch"},
        "/api/boards/{board_id}/members": {"post"},
        "/api/boards/{board_id}/members/{user_id}": {"delete"},
        "/api/boards/{board_id}/lists": {"post"},
        "/api/lists/{list_id}": {"patch"},
        "/api/lists/{list_id}/cards": {"post"},
        "/api/cards/{card_id}": {"get", "patch", "delete"},
        "/api/cards/{card_id}/move": {"post"},
        "/api/cards/{card_id}/comments": {"get", "post"},
    }
    assert {path: set(item) for path, item in paths.items()} == expected


def test_the_migrations_match_the_models(make_board_app: Any) -> None:
    from tidal.db.migrations.runner import Migrations

    assert Migrations(make_board_app()).check() == []


async def board_of(board_id: int) -> dict[str, int]:
    return {"id": board_id}


async def test_a_path_parameter_may_be_taken_by_a_dependency_only() -> None:
    """Tidal itself: the board's routes rely on it (``board: MemberBoard``)."""
    app = Tidal(settings={"debug": True})

    @app.get("/boards/{board_id:int}")
    async def show(board: Annotated[dict[str, int], Depends(board_of)]) -> dict[str, int]:
        return board

    async with TestClient(app) as client:
        assert (await client.get("/boards/7")).json() == {"id": 7}
