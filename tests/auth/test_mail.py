"""The SMTP mail backend against a real SMTP server started by the test (plain, STARTTLS,
implicit TLS, with and without login), its errors, and the password reset page when the
server is down.

The server runs on the test's own event loop: a backend that blocked the loop while talking
to it would never get an answer, so every delivery here also shows that sending does not
block the loop.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email
import email.policy
import logging
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import tidal.db
from tests.conftest import make_settings
from tidal import Tidal
from tidal.auth import AuthConfig, configure
from tidal.auth.mail import EmailMessage, SMTPMailBackend, get_mail_backend, send_mail
from tidal.exceptions import ImproperlyConfigured
from tidal.testing import TestClient

from .conftest import FAST, create_tables, csrf_token, make_user
from .support import add_routes

USERS = {"mailer": "s3cret-pass"}


@dataclasses.dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    tls: bool
    user: str | None

    @property
    def message(self) -> email.message.EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


class SMTPServer:
    """Just enough ESMTP (RFC 5321) for smtplib: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT,
    DATA, RSET, NOOP, QUIT. Written for these tests; it keeps what it receives.

    Args:
        context: the server's certificate, for STARTTLS and implicit TLS.
        starttls: offer STARTTLS on a plain connection.
        implicit_tls: speak TLS from the first byte (port 465 style).
    """

    def __init__(
        self, context: ssl.SSLContext, *, starttls: bool = True, implicit_tls: bool = False
    ) -> None:
        self.context = context
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.received: list[Received] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SMTPServer:
        self._server = await asyncio.start_server(
            self._session, "127.0.0.1", 0, ssl=self.context if self.implicit_tls else None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls = self.implicit_tls
        user: str | None = None
        sender = ""
        recipients: list[str] = []

        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 127.0.0.1 ESMTP test server")
        try:
            while line := await reader.readline():
                command, _, argument = line.decode().rstrip("\r\n").partition(" ")
                verb = command.upper()
                if verb == "EHLO":
                    features = ["250-127.0.0.1"]
                    if self.starttls and not tls:
                        features.append("250-STARTTLS")
                    if tls:
                        features.append("250-AUTH PLAIN")
                    await reply("\r\n".join([*features, "250 8BITMIME"]))
                elif verb == "STARTTLS" and self.starttls and not tls:
                    await reply("220 Go ahead")
                    await writer.start_tls(self.context)
                    tls = True
                elif verb == "AUTH" and tls:
                    mechanism, _, initial = argument.partition(" ")
                    _, name, password = base64.b64decode(initial).decode().split("\0")
                    if mechanism.upper() == "PLAIN" and USERS.get(name) == password:
                        user = name
                        await reply("235 2.7.0 Authentication successful")
                    else:
                        await reply("535 5.7.8 Authentication credentials invalid")
                elif verb == "MAIL":
                    sender = argument.partition(":")[2].strip("<> ").split(" ")[0].rstrip(">")
                    recipients = []
                    await reply("250 OK")
                elif verb == "RCPT":
                    recipients.append(argument.partition(":")[2].strip("<> "))
                    await reply("250 OK")
                elif verb == "DATA":
                    await reply("354 End data with <CR><LF>.<CR><LF>")
                    data = await reader.readuntil(b"\r\n.\r\n")
                    body = data[: -len(b".\r\n")].replace(b"\r\n..", b"\r\n.")
                    self.received.append(Received(sender, recipients, body, tls, user))
                    await reply("250 OK: queued")
                elif verb in ("RSET", "NOOP"):
                    await reply("250 OK")
                elif verb == "QUIT":
                    await reply("221 Bye")
                    break
                else:
                    await reply("502 Command not implemented")
        finally:
            writer.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (key and certificate in one file)."""
    folder = tmp_path_factory.mktemp("tls")
    pem = folder / "server.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(pem), "-out", str(pem),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return pem


@pytest.fixture
def server_context(certificate: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate)
    return context


@pytest.fixture
def trusted(certificate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test certificate the system's trusted authority (``SSL_CERT_FILE``), so the
    backend built from the settings verifies it like a real one."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))


def mail_app(backend: str = "smtp", **settings: Any) -> Tidal:
    app = Tidal(settings=make_settings(**settings))
    configure(app, AuthConfig(mail_backend=backend, default_from_email="site@example.com"))
    return app


MESSAGE = "Hello Ada,\n\nYour board is ready: https://example.com/b/1\nÜnïcode too.\n"


async def test_delivery_over_starttls_with_login(
    server_context: ssl.SSLContext, trusted: None
) -> None:
    async with SMTPServer(server_context) as server:
        app = mail_app(
            mail_host="127.0.0.1",
            mail_port=server.port,
            mail_username="mailer",
            mail_password=USERS["mailer"],
        )
        sent = await send_mail(app, EmailMessage("Your board", MESSAGE, ["ada@example.com"]))
    assert sent is True
    [received] = server.received
    assert (received.tls, received.user) == (True, "mailer")
    assert received.sender == "site@example.com"
    assert received.recipients == ["ada@example.com"]
    message = received.message
    assert message["Subject"] == "Your board"
    assert message["From"] == "site@example.com"
    assert message["To"] == "ada@example.com"
    assert message["Date"]
    assert message["Message-ID"]
    body = message.get_body()
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == MESSAGE  # (CRLF on the wire)


async def test_delivery_over_implicit_tls(
    server_context: ssl.SSLContext, certificate: Path
) -> None:
    backend = SMTPMailBackend(
        "127.0.0.1",
        username="mailer",
        password=USERS["mailer"],
        security="tls",
        ssl_context=ssl.create_default_context(cafile=str(certificate)),
    )
    assert backend.port == 465  # the default for implicit TLS
    async with SMTPServer(server_context, starttls=False, implicit_tls=True) as server:
        backend.port = server.port
        messages = [
            EmailMessage(f"Card {n}", "moved", ["bob@example.com"], "a@x.org") for n in range(3)
        ]
        await backend.send(messages)
    assert [r.message["Subject"] for r in server.received] == ["Card 0", "Card 1", "Card 2"]
    assert all(r.tls and r.user == "mailer" for r in server.received)


async def test_plain_relay_without_login(server_context: ssl.SSLContext) -> None:
    async with SMTPServer(server_context, starttls=False) as server:
        app = mail_app(mail_host="127.0.0.1", mail_port=server.port, mail_security="none")
        await send_mail(app, EmailMessage("Hi", "plain", ["bob@example.com"]))
    [received] = server.received
    assert (received.tls, received.user, received.message["Subject"]) == (False, None, "Hi")


async def test_wrong_password_is_logged_clearly(
    server_context: ssl.SSLContext, trusted: None, caplog: pytest.LogCaptureFixture
) -> None:
    import smtplib

    async with SMTPServer(server_context) as server:
        app = mail_app(
            mail_host="127.0.0.1",
            mail_port=server.port,
            mail_username="mailer",
            mail_password="wrong",
        )
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await send_mail(app, EmailMessage("x", "y", ["ada@example.com"]))
    assert server.received == []
    [record] = [r for r in caplog.records if r.name == "tidal.auth.mail"]
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert f"Mail not sent through 127.0.0.1:{server.port} (1 message(s))" in text
    assert "the server refused the username or password" in text
    assert "TIDAL_MAIL_USERNAME and TIDAL_MAIL_PASSWORD" in text
    assert "wrong" not in text  # the password is never logged


async def test_tls_problems_are_logged_clearly(
    server_context: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    async with SMTPServer(server_context, starttls=False) as server:
        app = mail_app(mail_host="127.0.0.1", mail_port=server.port)
        assert await send_mail(app, EmailMessage("x", "y", ["a@b.c"]), raise_errors=False) is False
    assert "the server does not offer STARTTLS" in caplog.text
    assert "TIDAL_MAIL_SECURITY=tls" in caplog.text
    caplog.clear()
    async with SMTPServer(server_context) as server:  # a certificate no one trusts
        app = mail_app(mail_host="127.0.0.1", mail_port=server.port)
        assert await send_mail(app, EmailMessage("x", "y", ["a@b.c"]), raise_errors=False) is False
    assert "the TLS handshake failed" in caplog.text
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert server.received == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_unreachable_server(caplog: pytest.LogCaptureFixture) -> None:
    app = mail_app(mail_host="127.0.0.1", mail_port=closed_port(), mail_timeout=2.0)
    with pytest.raises(ConnectionRefusedError):
        await send_mail(app, EmailMessage("x", "y", ["a@b.c"]))
    assert "cannot talk to the server" in caplog.text
    assert "Check TIDAL_MAIL_HOST, TIDAL_MAIL_PORT" in caplog.text


def test_smtp_settings_are_checked() -> None:
    with pytest.raises(ImproperlyConfigured, match="needs TIDAL_MAIL_HOST"):
        get_mail_backend(mail_app())
    with pytest.raises(ImproperlyConfigured, match="TIDAL_MAIL_SECURITY='ssl'"):
        get_mail_backend(mail_app(mail_host="smtp.example.com", mail_security="ssl"))
    backend = get_mail_backend(mail_app(mail_host="smtp.example.com", mail_timeout=3.5))
    assert isinstance(backend, SMTPMailBackend)
    assert (backend.host, backend.port, backend.security, backend.timeout) == (
        "smtp.example.com",
        587,
        "starttls",
        3.5,
    )


@pytest_asyncio.fixture
async def reset_app(make_auth_app: Callable[..., Tidal]) -> AsyncIterator[Tidal]:
    """The auth app mailing through an SMTP server that is down."""
    config = AuthConfig(**{**FAST.__dict__, "mail_backend": "smtp"})
    app = make_auth_app(config, mail_host="127.0.0.1", mail_port=closed_port(), mail_timeout=2.0)
    add_routes(app)
    await create_tables(app)
    yield app
    await tidal.db.database(app).dispose()


async def test_password_reset_answers_the_same_when_smtp_is_down(
    reset_app: Tidal, caplog: pytest.LogCaptureFixture
) -> None:
    await make_user(reset_app, email="ada@example.com")
    pages = []
    async with TestClient(reset_app) as client:
        for address in ("ada@example.com", "nobody@example.com"):
            form = await client.get("/auth/reset")
            data = {"email": address, "csrf_token": csrf_token(form.text)}
            pages.append(await client.post("/auth/reset", data=data))
    assert [page.status_code for page in pages] == [200, 200]
    assert pages[0].text == pages[1].text  # nothing tells who has an account
    errors = [r for r in caplog.records if r.name == "tidal.auth.mail"]
    assert len(errors) == 1  # the one mail for the existing account failed, and says why
    assert "cannot talk to the server" in errors[0].getMessage()
