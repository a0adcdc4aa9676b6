"""Authentication per request: sessions, API tokens, laziness, guards."""

from __future__ import annotations

import datetime

from sqlalchemy import select

import tidal.db
from tidal import Tidal
from tidal.auth import create_token, revoke_token
from tidal.auth.models import APIToken, Group, Permission, User
from tidal.testing import TestClient

from .conftest import QueryCounter, log_in, make_user

HTML = {"accept": "text/html"}


async def token_for(app: Tidal, user_id: int, **kw: object) -> str:
    async with tidal.db.session(app) as db:
        user = await db.get(User, user_id)
        assert user is not None
        token, _ = await create_token(db, user, app=app, **kw)  # type: ignore[arg-type]
    return token


async def test_anonymous_user(app: Tidal) -> None:
    async with TestClient(app) as client:
        body = (await client.get("/me")).json()
    assert body == {"authenticated": False, "username": "", "in_scope": True}


async def test_bearer_token_authenticates(app: Tidal) -> None:
    user = await make_user(app)
    token = await token_for(app, user.id, name="cli")
    assert token.startswith("tdl_")
    async with TestClient(app) as client:
        headers = {"authorization": f"Bearer {token}"}
        assert (await client.get("/private", headers=headers)).json() == {"username": "ada"}
        # Bearer requests need no CSRF token.
        response = await client.post("/api/notes", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"by": "ada"}
    async with tidal.db.session(app) as db:
        stored = await db.get(APIToken, 1)
        assert stored is not None
        assert stored.key_hash != token
        assert len(stored.key_hash) == 64


async def test_revoked_and_expired_tokens_are_refused(app: Tidal) -> None:
    user = await make_user(app)
    token = await token_for(app, user.id)
    expired = await token_for(app, user.id, expires_in=datetime.timedelta(seconds=-1))
    async with TestClient(app) as client:
        headers = {"authorization": f"Bearer {token}"}
        assert (await client.get("/private", headers=headers)).status_code == 200
        async with tidal.db.session(app) as db:
            assert await revoke_token(db, token) is True
            assert await revoke_token(db, "tdl_unknown") is False
        response = await client.get("/private", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == "Bearer"
        response = await client.get("/private", headers={"authorization": f"Bearer {expired}"})
        assert response.status_code == 401


async def test_tokens_of_inactive_users_are_refused(app: Tidal) -> None:
    user = await make_user(app, is_active=False)
    token = await token_for(app, user.id)
    async with TestClient(app) as client:
        response = await client.get("/private", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_bearer_requests_ignore_the_session_cookie(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await log_in(client)
        assert (await client.get("/me")).json()["authenticated"] is True
        bogus = {"authorization": "Bearer tdl_forged"}
        assert (await client.get("/me", headers=bogus)).json()["authenticated"] is False
        # A forged cross-site POST with a bogus token (no CSRF check) gets nobody's rights.
        assert (await client.post("/api/notes", headers=bogus)).status_code == 401
        empty = {"authorization": "Bearer "}
        assert (await client.get("/private", headers=empty)).status_code == 401


async def test_a_request_that_never_asks_does_no_lookup(app: Tidal, queries: QueryCounter) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await log_in(client)
        queries.count = 0
        assert (await client.get("/plain")).status_code == 200
        assert queries.count == 0
        await client.get("/me")
        assert queries.count >= 1  # the user lookup (SQLite adds its own statements)


async def test_login_required(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        response = await client.get("/guarded")
        assert response.status_code == 401
        assert response.json()["status"] == 401
        response = await client.get("/guarded?a=1", headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/auth/login?next=/guarded%3Fa%3D1"
        response = await client.get("/private", headers=HTML)
        assert response.status_code == 303
        await log_in(client)
        assert (await client.get("/guarded")).json() == {"ok": True}


async def test_staff_required(app: Tidal) -> None:
    await make_user(app)
    await make_user(app, "grace", is_staff=True)
    async with TestClient(app) as client:
        assert (await client.get("/staff")).status_code == 401
        await log_in(client)
        assert (await client.get("/staff")).status_code == 403
    async with TestClient(app) as client:
        await log_in(client, "grace")
        assert (await client.get("/staff")).status_code == 200


async def test_permission_required_direct_group_and_superuser(app: Tidal) -> None:
    await make_user(app)
    await make_user(app, "grace")
    await make_user(app, "root", is_superuser=True)
    async with tidal.db.session(app) as db:
        change = Permission(codename="blog.change_post", name="Can change post")
        editors = Group(name="editors", permissions=[change])
        db.add(editors)
        await db.flush()
        grace = await db.get(User, 2)
        assert grace is not None
        await db.refresh(grace, ["groups"])
        grace.groups.append(editors)
    async with TestClient(app) as client:
        assert (await client.get("/edit")).status_code == 401
        await log_in(client)
        response = await client.get("/edit")
        assert response.status_code == 403
        assert "blog.change_post" in response.json()["detail"]
    async with TestClient(app) as client:
        await log_in(client, "grace")
        assert (await client.get("/edit")).status_code == 200
    async with TestClient(app) as client:
        await log_in(client, "root")
        assert (await client.get("/edit")).status_code == 200


async def test_get_user_outside_injection(app: Tidal) -> None:
    await make_user(app)
    async with tidal.db.session(app) as db:
        db.add(Permission(codename="blog.view_post"))
        await db.flush()
        ada = await db.get(User, 1)
        assert ada is not None
        await db.refresh(ada, ["user_permissions"])
        ada.user_permissions.extend((await db.execute(select(Permission))).scalars())
    async with TestClient(app) as client:
        assert (await client.get("/manual")).json() == {"username": "", "perms": []}
        await log_in(client)
        body = (await client.get("/manual")).json()
        assert body == {"username": "ada", "perms": ["blog.view_post"]}


async def test_get_user_on_a_websocket(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await log_in(client)
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        headers = {"cookie": cookie, "origin": "http://testserver"}
        async with client.websocket_connect("/live", headers=headers) as socket:
            assert await socket.receive_json() == {"username": "ada"}
