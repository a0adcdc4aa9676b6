"""Sending mail through a pluggable backend: SMTP for production, console and file backends
for development, an in-memory one for tests.

``await send_mail(app, EmailMessage(...))``; the backend is ``AuthConfig.mail_backend``, and
the SMTP server comes from the ``mail_*`` settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.message
import email.utils
import logging
import smtplib
import ssl
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tidal.auth.config import get_config
from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.conf.settings import Settings

logger = logging.getLogger("tidal.auth.mail")
STATE_KEY = "tidal.auth.mail"
#: ``mail_security`` values and the port each uses when ``mail_port`` is not set.
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclasses.dataclass
class EmailMessage:
    subject: str
    body: str
    to: list[str]
    from_email: str = ""

    def as_mime(self) -> email.message.EmailMessage:
        message = email.message.EmailMessage()
        message["Subject"] = self.subject
        message["From"] = self.from_email
        message["To"] = ", ".join(self.to)
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = email.utils.make_msgid()
        message.set_content(self.body)
        return message


class MailBackend:
    """Base class: ``await backend.send(messages)``."""

    async def send(self, messages: list[EmailMessage]) -> None:
        raise NotImplementedError


class ConsoleMailBackend(MailBackend):
    """Print each message (development)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, messages: list[EmailMessage]) -> None:
        stream = self.stream or sys.stdout
        for message in messages:
            stream.write(message.as_mime().as_string() + "\n" + "-" * 72 + "\n")
        stream.flush()


class FileMailBackend(MailBackend):
    """Write each message as an ``.eml`` file into a folder (development)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _write(self, messages: list[EmailMessage]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        for message in messages:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
            (self.path / name).write_bytes(message.as_mime().as_bytes())

    async def send(self, messages: list[EmailMessage]) -> None:
        await asyncio.to_thread(self._write, messages)


class SMTPMailBackend(MailBackend):
    """Send through an SMTP server, one connection per ``send``.

    ``smtplib`` runs in a worker thread, so a slow or unreachable server holds up only the
    request that sends, never the event loop. A failure is logged on ``tidal.auth.mail``
    with what to check, then raised (``smtplib.SMTPException`` or ``OSError``).

    Args:
        host: the server's name; it must match its TLS certificate.
        port: None for the usual port of ``security`` (``SMTP_PORTS``).
        username: log in as this user when set; ``password`` with it.
        security: ``"starttls"``, ``"tls"`` (implicit TLS) or ``"none"``.
        timeout: seconds to wait at each step.
        ssl_context: how certificates are verified; the system's trusted authorities by
            default.
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SMTP_PORTS:
            raise ImproperlyConfigured(
                f"TIDAL_MAIL_SECURITY={security!r} must be one of starttls (port 587), tls "
                "(port 465) or none (a relay on this host or network)."
            )
        self.host = host
        self.port = port or SMTP_PORTS[security]
        self.username = username
        self.password = password
        self.security = security
        self.timeout = timeout
        self.ssl_context = ssl_context

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPMailBackend:
        if not settings.mail_host:
            raise ImproperlyConfigured(
                'AuthConfig.mail_backend="smtp" needs TIDAL_MAIL_HOST (the SMTP server, '
                "e.g. smtp.example.com) and usually TIDAL_MAIL_USERNAME and "
                "TIDAL_MAIL_PASSWORD."
            )
        return cls(
            settings.mail_host,
            settings.mail_port,
            username=settings.mail_username,
            password=settings.mail_password,
            security=settings.mail_security,
            timeout=settings.mail_timeout,
        )

    async def send(self, messages: list[EmailMessage]) -> None:
        if messages:
            await asyncio.to_thread(self._send, messages)

    def _send(self, messages: list[EmailMessage]) -> None:
        context = self.ssl_context or ssl.create_default_context()
        try:
            connection: smtplib.SMTP
            if self.security == "tls":
                connection = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with connection:
                if self.security == "starttls":
                    connection.starttls(context=context)
                if self.username:
                    connection.login(self.username, self.password)
                for message in messages:
                    connection.send_message(message.as_mime())
        except (smtplib.SMTPException, OSError) as exc:
            logger.error(
                "Mail not sent through %s:%d (%d message(s)): %s",
                self.host,
                self.port,
                len(messages),
                self.explain(exc),
            )
            raise

    def explain(self, exc: BaseException) -> str:
        """What went wrong, in words, and which setting to check."""
        detail = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return (
                f"the server refused the username or password ({detail}). Check "
                "TIDAL_MAIL_USERNAME and TIDAL_MAIL_PASSWORD."
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError) and self.security == "starttls":
            return (
                f"the server does not offer STARTTLS ({detail}). Use TIDAL_MAIL_SECURITY=tls "
                "if it speaks TLS from the start (port 465)."
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return f"the server does not allow logging in here ({detail})."
        if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
            return f"the server refused the sender or a recipient ({detail})."
        if isinstance(exc, ssl.SSLError):
            return (
                f"the TLS handshake failed ({detail}). Check that TIDAL_MAIL_HOST is the "
                "name on the server's certificate and TIDAL_MAIL_SECURITY matches the port."
            )
        if isinstance(exc, smtplib.SMTPException):
            return f"the server answered with an error ({detail})."
        return (
            f"cannot talk to the server ({detail}). Check TIDAL_MAIL_HOST, TIDAL_MAIL_PORT "
            "and that the server is up."
        )


class MemoryMailBackend(MailBackend):
    """Keep messages in ``outbox`` (tests)."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []

    async def send(self, messages: list[EmailMessage]) -> None:
        self.outbox.extend(messages)


def get_mail_backend(app: Tidal) -> MailBackend:
    backend = app.state.get(STATE_KEY)
    if isinstance(backend, MailBackend):
        return backend
    config = get_config(app)
    if config.mail_backend == "smtp":
        backend = SMTPMailBackend.from_settings(app.settings)
    elif config.mail_backend == "console":
        backend = ConsoleMailBackend()
    elif config.mail_backend == "file":
        backend = FileMailBackend(config.mail_file_path)
    elif config.mail_backend == "memory":
        backend = MemoryMailBackend()
    else:
        raise ImproperlyConfigured(
            f"AuthConfig.mail_backend={config.mail_backend!r} must be one of smtp, console, "
            "file, memory (or set a MailBackend with tidal.auth.mail.set_mail_backend(app, "
            "...))."
        )
    app.state[STATE_KEY] = backend
    return backend


def set_mail_backend(app: Tidal, backend: MailBackend) -> None:
    app.state[STATE_KEY] = backend


async def send_mail(app: Tidal, *messages: EmailMessage, raise_errors: bool = True) -> bool:
    """Send ``messages`` (from ``default_from_email`` unless they say otherwise) through
    the application's backend; True when they were handed over.

    With ``raise_errors=False`` a failure is logged on ``tidal.auth.mail`` and False
    returned instead: for pages whose answer must not depend on the mail going out (the
    password reset page answers the same whether or not an account exists).
    """
    default = get_config(app).default_from_email
    for message in messages:
        message.from_email = message.from_email or default
    backend = get_mail_backend(app)
    try:
        await backend.send(list(messages))
    except Exception:
        if raise_errors:
            raise
        if not isinstance(backend, SMTPMailBackend):  # (which has logged why already)
            logger.exception("Mail not sent through %s", type(backend).__name__)
        return False
    return True


__all__ = [
    "SMTP_PORTS",
    "ConsoleMailBackend",
    "EmailMessage",
    "FileMailBackend",
    "MailBackend",
    "MemoryMailBackend",
    "SMTPMailBackend",
    "get_mail_backend",
    "send_mail",
    "set_mail_backend",
]
