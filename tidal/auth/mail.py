"""Sending mail through a pluggable backend: console and file backends for development, an
in-memory one for tests (SMTP for production is not written yet).

``await send_mail(app, EmailMessage(...))``; the backend is ``AuthConfig.mail_backend``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.message
import email.utils
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tidal.auth.config import get_config
from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from tidal.app import Tidal

STATE_KEY = "tidal.auth.mail"


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
    if config.mail_backend == "console":
        backend = ConsoleMailBackend()
    elif config.mail_backend == "file":
        backend = FileMailBackend(config.mail_file_path)
    elif config.mail_backend == "memory":
        backend = MemoryMailBackend()
    else:
        raise ImproperlyConfigured(
            f"AuthConfig.mail_backend={config.mail_backend!r} must be one of console, file, "
            "memory (or set a MailBackend with tidal.auth.mail.set_mail_backend(app, ...))."
        )
    app.state[STATE_KEY] = backend
    return backend


def set_mail_backend(app: Tidal, backend: MailBackend) -> None:
    app.state[STATE_KEY] = backend


async def send_mail(app: Tidal, *messages: EmailMessage) -> None:
    default = get_config(app).default_from_email
    for message in messages:
        message.from_email = message.from_email or default
    await get_mail_backend(app).send(list(messages))


__all__ = [
    "ConsoleMailBackend",
    "EmailMessage",
    "FileMailBackend",
    "MailBackend",
    "MemoryMailBackend",
    "get_mail_backend",
    "send_mail",
    "set_mail_backend",
]
