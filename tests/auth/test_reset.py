"""Password reset: the mail, the single-use expiring link, and the mail backends."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import tidal.db
from tidal import Tidal
from tidal.auth import AuthConfig
from tidal.auth.mail import (
    ConsoleMailBackend,
    EmailMessage,
    FileMailBackend,
    MemoryMailBackend,
    get_mail_backend,
    send_mail,
)
from tidal.auth.models import User
from tidal.auth.reset import check_reset_token, make_reset_token
from tidal.testing import TestClient

from .conftest import FAST, create_tables, csrf_token, log_in, make_user
from .support import add_routes

NEW = "a brand new passphrase"


@pytest.fixture
async def reset_app(make_auth_app: Callable[..., Tidal]) -> AsyncIterator[Tidal]:
    app = make_auth_app(AuthConfig(**{**FAST.__dict__, "mail_backend": "memory"}))
    add_routes(app)
    await create_tables(app)
    yield app
    await tidal.db.database(app).dispose()


async def ask_for_link(client: TestClient, email: str) -> int:
    page = await client.get("/auth/reset")
    response = await client.post(
        "/auth/reset", data={"email": email, "csrf_token": csrf_token(page.text)}
    )
    return response.status_code


def outbox(app: Tidal) -> list[EmailMessage]:
    backend = get_mail_backend(app)
    assert isinstance(backend, MemoryMailBackend)
    return backend.outbox


async def set_new_password(client: TestClient, path: str, password: str = NEW) -> int:
    page = await client.get(path)
    if page.status_code != 200:
        return page.status_code
    data = {
        "new_password": password,
        "new_password_again": password,
        "csrf_token": csrf_token(page.text),
    }
    return (await client.post(path, data=data)).status_code


async def test_reset_flow_is_single_use(reset_app: Tidal) -> None:
    await make_user(reset_app, email="ada@example.com")
    async with TestClient(reset_app) as client:
        assert await ask_for_link(client, "ada@example.com") == 200
        assert await ask_for_link(client, "nobody@example.com") == 200  # same answer
        [message] = outbox(reset_app)
        assert message.to == ["ada@example.com"]
        assert message.from_email == "webmaster@localhost"
        match = re.search(r"http://testserver(/auth/reset/\S+)", message.body)
        assert match, message.body
        path = match.group(1)
        assert await set_new_password(client, path, "12345") == 422  # validated
        assert await set_new_password(client, path) == 200
        assert await set_new_password(client, path, "another fine passphrase") == 400  # spent
        assert (await log_in(client, password=NEW)).status_code == 303


async def test_reset_mail_goes_out_after_the_page(
    reset_app: Tidal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is answered before the mail is sent, so a slow mail server cannot tell an
    attacker timing the answer which addresses have accounts."""
    events: list[str] = []

    def record_body_sent(inner: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            async def recording(message: Message) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    events.append(f"page {scope['method']}")

            await inner(scope, receive, recording)

        return middleware

    reset_app.add_middleware(record_body_sent)
    original = MemoryMailBackend.send

    async def send(self: MemoryMailBackend, messages: list[EmailMessage]) -> None:
        events.append("mail")
        await original(self, messages)

    monkeypatch.setattr(MemoryMailBackend, "send", send)
    await make_user(reset_app, email="ada@example.com")
    async with TestClient(reset_app) as client:
        assert await ask_for_link(client, "ada@example.com") == 200
    assert events == ["page GET", "page POST", "mail"]
    assert len(outbox(reset_app)) == 1


async def test_reset_tokens_expire_and_resist_tampering(
    reset_app: Tidal, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user(reset_app, email="ada@example.com")
    token = make_reset_token(reset_app, user)
    async with tidal.db.session(reset_app) as db:
        found = await check_reset_token(reset_app, db, token)
        assert found is not None
        assert found.id == user.id
        assert await check_reset_token(reset_app, db, token.replace(f"{user.id}.", "2.")) is None
        assert await check_reset_token(reset_app, db, "garbage") is None
        import time

        later = time.time() + 3601
        monkeypatch.setattr(time, "time", lambda: later)
        assert await check_reset_token(reset_app, db, token) is None


async def test_reset_is_throttled(reset_app: Tidal) -> None:
    async with TestClient(reset_app) as client:
        statuses = [await ask_for_link(client, "ada@example.com") for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_no_mail_for_inactive_users(reset_app: Tidal) -> None:
    await make_user(reset_app, email="ada@example.com", is_active=False)
    async with TestClient(reset_app) as client:
        assert await ask_for_link(client, "ada@example.com") == 200
    assert outbox(reset_app) == []
    async with tidal.db.session(reset_app) as db:
        user = await db.get(User, 1)
        assert user is not None
        assert await check_reset_token(reset_app, db, make_reset_token(reset_app, user)) is None


async def test_console_and_file_backends(tmp_path: Path) -> None:
    stream = io.StringIO()
    message = EmailMessage("Hi", "Body text", ["a@example.com"], "from@example.com")
    await ConsoleMailBackend(stream).send([message])
    assert "Subject: Hi" in stream.getvalue()
    assert "Body text" in stream.getvalue()
    await FileMailBackend(tmp_path / "mail").send([message, message])
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    assert b"To: a@example.com" in files[0].read_bytes()


async def test_send_mail_uses_the_configured_backend(make_auth_app: Callable[..., Tidal]) -> None:
    app = make_auth_app(AuthConfig(**{**FAST.__dict__, "mail_backend": "memory"}))
    await send_mail(app, EmailMessage("Hi", "Body", ["a@example.com"]))
    assert outbox(app)[0].from_email == "webmaster@localhost"
    bad = make_auth_app(AuthConfig(mail_backend="pigeon"))
    with pytest.raises(Exception, match="mail_backend='pigeon'"):
        get_mail_backend(bad)
