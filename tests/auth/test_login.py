"""Login, logout, session rotation, throttling and password changes through the pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import tidal.db
import tidal.realtime.auth
from tidal import Tidal
from tidal.auth import AuthConfig
from tidal.auth.authentication import check_password, set_password
from tidal.auth.models import User
from tidal.testing import TestClient

from .conftest import FAST, PASSWORD, create_tables, csrf_token, log_in, make_user
from .support import add_routes

COOKIE = "tidal_session"


async def test_login_page_passes_the_default_csp(app: Tidal) -> None:
    async with TestClient(app) as client:
        page = await client.get("/auth/login")
    assert page.status_code == 200
    assert "content-security-policy" in page.headers
    assert "<script" not in page.text
    assert "<style" not in page.text
    assert "style=" not in page.text
    assert 'name="password"' in page.text
    assert 'type="password"' in page.text


async def test_login_rotates_the_session_id(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await client.get("/auth/login")  # the CSRF token starts a session
        before = client.cookies[COOKIE]
        response = await log_in(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        after = client.cookies[COOKIE]
        assert after != before
        assert (await client.get("/me")).json()["authenticated"] is True
    async with TestClient(app) as attacker:  # the id known before login is dead
        attacker.cookies.set(COOKIE, before)
        assert (await attacker.get("/me")).json()["authenticated"] is False


async def test_login_sets_last_login_and_safe_next(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        response = await log_in(client, next="/private?x=1")
        assert response.headers["location"] == "/private?x=1"
    async with TestClient(app) as client:
        response = await log_in(client, next="//evil.example/")
        assert response.headers["location"] == "/"
    async with tidal.db.session(app) as db:
        user = await db.get(User, 1)
        assert user is not None
        assert user.last_login is not None


async def test_wrong_password_is_a_form_error(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        response = await log_in(client, password="not-the-password")
        assert response.status_code == 422
        assert "The username or password is wrong." in response.text
        assert (await client.get("/me")).json()["authenticated"] is False
        response = await log_in(client, username="nobody")
        assert response.status_code == 422


async def test_inactive_users_cannot_log_in(app: Tidal) -> None:
    await make_user(app, is_active=False)
    async with TestClient(app) as client:
        assert (await log_in(client)).status_code == 422


async def test_login_without_csrf_token_is_refused(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await client.get("/auth/login")
        response = await client.post("/auth/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 403


async def test_brute_force_hits_429(make_auth_app: Callable[..., Tidal]) -> None:
    app = make_auth_app(AuthConfig(**{**FAST.__dict__, "login_per_account": "3/minute"}))
    await create_tables(app)
    await make_user(app)
    try:
        async with TestClient(app) as client:
            statuses = [(await log_in(client, password=f"guess-{i}")).status_code for i in range(5)]
            assert statuses[:3] == [422, 422, 422]
            assert statuses[3] == 429
            # Even the right password is refused while throttled.
            response = await log_in(client)
            assert response.status_code == 429
            assert int(response.headers["retry-after"]) > 0
    finally:
        await tidal.db.database(app).dispose()


async def test_logout_kills_the_server_side_session(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await log_in(client)
        stolen = client.cookies[COOKIE]
        page = await client.get("/auth/logout")
        response = await client.post("/auth/logout", data={"csrf_token": csrf_token(page.text)})
        assert response.status_code == 303
        assert (await client.get("/me")).json()["authenticated"] is False
    async with TestClient(app) as attacker:
        attacker.cookies.set(COOKIE, stolen)
        assert (await attacker.get("/me")).json()["authenticated"] is False


async def test_password_change_logs_out_other_sessions(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as laptop, TestClient(app) as phone:
        await log_in(laptop)
        await log_in(phone)
        page = await laptop.get("/auth/password")
        assert page.status_code == 200
        data = {
            "old_password": PASSWORD,
            "new_password": "a much better passphrase",
            "new_password_again": "a much better passphrase",
            "csrf_token": csrf_token(page.text),
        }
        response = await laptop.post("/auth/password", data=data)
        assert response.status_code == 200, response.text
        assert (await laptop.get("/me")).json()["authenticated"] is True
        assert (await phone.get("/me")).json()["authenticated"] is False
    async with TestClient(app) as client:
        assert (await log_in(client, password="a much better passphrase")).status_code == 303


class SocketCloser:
    """Stands in for ``tidal.realtime.auth.signed_out``: records each call and whether the
    new password was already committed (visible to another session) at that moment."""

    def __init__(self, app: Tidal, new_password: str) -> None:
        self.app = app
        self.new_password = new_password
        self.calls: list[tuple[str, str, bool]] = []

    async def __call__(self, app: Tidal, user_key: str, reason: str = "signed out") -> None:
        async with tidal.db.session(self.app) as db:
            user = await db.get_one(User, int(user_key))
            committed = await check_password(self.app, user, self.new_password)
        self.calls.append((user_key, reason, committed))


async def test_a_password_change_closes_sockets_only_once_committed(
    app: Tidal, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(app)
    closer = SocketCloser(app, "a much better passphrase")
    monkeypatch.setattr(tidal.realtime.auth, "signed_out", closer)
    async with TestClient(app) as client:
        await log_in(client)
        page = await client.get("/auth/password")
        data = {
            "old_password": PASSWORD,
            "new_password": "a much better passphrase",
            "new_password_again": "a much better passphrase",
            "csrf_token": csrf_token(page.text),
        }
        assert (await client.post("/auth/password", data=data)).status_code == 200
    assert closer.calls == [("1", "password changed", True)]


async def test_a_rolled_back_password_change_closes_no_socket(
    app: Tidal, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user(app)
    closer = SocketCloser(app, "rolled back")
    monkeypatch.setattr(tidal.realtime.auth, "signed_out", closer)

    async def undone() -> None:
        async with tidal.db.session(app) as db:
            await set_password(app, await db.get_one(User, 1), "rolled back")
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        await undone()
    async with tidal.db.session(app) as db:  # committed in a SAVEPOINT rolled back: neither
        savepoint = await db.begin_nested()
        await set_password(app, await db.get_one(User, 1), "rolled back")
        await savepoint.rollback()
    assert closer.calls == []
    async with tidal.db.session(app) as db:
        await set_password(app, await db.get_one(User, 1), "rolled back")
        assert closer.calls == []  # not before the commit
    assert closer.calls == [("1", "password changed", True)]


async def test_password_change_validates(app: Tidal) -> None:
    await make_user(app)
    async with TestClient(app) as client:
        await log_in(client)
        page = await client.get("/auth/password")
        data = {
            "old_password": "wrong",
            "new_password": "12345",
            "new_password_again": "12345",
            "csrf_token": csrf_token(page.text),
        }
        response = await client.post("/auth/password", data=data)
        assert response.status_code == 422
        assert "This is not your current password." in response.text
        data["old_password"] = PASSWORD
        response = await client.post("/auth/password", data=data)
        assert response.status_code == 422
        assert "too short" in response.text
        assert "entirely numeric" in response.text


async def test_password_change_needs_login(app: Tidal) -> None:
    async with TestClient(app) as client:
        response = await client.get("/auth/password", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?next=/auth/password"


async def test_rehash_on_login_when_parameters_change(
    make_auth_app: Callable[..., Tidal],
) -> None:
    old = make_auth_app()
    await create_tables(old)
    await make_user(old)
    await tidal.db.database(old).dispose()
    stronger = AuthConfig(**{**FAST.__dict__, "argon2_time_cost": 2})
    app = make_auth_app(stronger)
    add_routes(app)
    try:
        async with tidal.db.session(app) as db:
            user = await db.get(User, 1)
            assert user is not None
            assert ",t=1," in user.password
        async with TestClient(app) as client:
            assert (await log_in(client)).status_code == 303
            # The rehash changed the hash the session was bound to: still logged in.
            assert (await client.get("/me")).json()["authenticated"] is True
        async with tidal.db.session(app) as db:
            user = await db.get(User, 1)
            assert user is not None
            assert ",t=2," in user.password
    finally:
        await tidal.db.database(app).dispose()
