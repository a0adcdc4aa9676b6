"""Flash messages: one-time notices stored in the session, shown on the next page.

The usual flow is post, redirect, get: a handler saves a form, calls ``await flash(request,
"Card saved.")`` and redirects; the page it redirects to calls
``get_flashed_messages()`` in its template, which returns the messages and removes them,
so they are shown once.

Messages live in the server-side session under ``"tidal.flash"``. Reading them loads the
session only when the browser has a session cookie: a first visit costs no store lookup.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from starlette.requests import HTTPConnection

from tidal.sessions.session import SCOPE_KEY, HttpSession, get_session
from tidal.types import Scope

SESSION_KEY = "tidal.flash"
LEVELS = ("debug", "info", "success", "warning", "error")


class FlashMessage(NamedTuple):
    """A message and its level (``info``, ``success``, ``warning``, ``error``, ...); in a
    template ``{{ message }}`` is its text and ``message.level`` suits a CSS class."""

    level: str
    text: str

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(self.text))


def _scope(request: HTTPConnection | Scope) -> Scope:
    return request.scope if isinstance(request, HTTPConnection) else request


async def flash(request: HTTPConnection | Scope, message: str, level: str = "info") -> None:
    """Store ``message`` for the next page this browser renders.

    Args:
        request: the current request (or its scope).
        message: plain text; it is escaped when rendered.
        level: a word for its kind, usually one of ``LEVELS``.

    Raises:
        ImproperlyConfigured: the application has no session middleware.
    """
    session = await get_session(_scope(request))
    stored = session.get(SESSION_KEY)
    messages = list(stored) if isinstance(stored, list) else []
    messages.append([level, message])
    session[SESSION_KEY] = messages


async def get_flashed_messages(
    request: HTTPConnection | Scope, *, levels: Collection[str] | None = None
) -> list[FlashMessage]:
    """The stored messages, oldest first, removed from the session (those of ``levels``
    only, when given; the others stay for later). Empty when there is no session."""
    scope = _scope(request)
    session = scope.get(SCOPE_KEY)
    if not isinstance(session, HttpSession):
        return []
    if not session.loaded and session.cookie_id is None:
        return []  # no cookie, no stored session, no messages: skip the store
    await session.load()
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, list) or not stored:
        return []
    taken: list[FlashMessage] = []
    kept: list[list[str]] = []
    for item in stored:
        if not (isinstance(item, list) and len(item) == 2):
            continue
        level, text = str(item[0]), str(item[1])
        if levels is None or level in levels:
            taken.append(FlashMessage(level, text))
        else:
            kept.append([level, text])
    if kept:
        session[SESSION_KEY] = kept
    else:
        del session[SESSION_KEY]
    return taken


__all__ = ["LEVELS", "SESSION_KEY", "FlashMessage", "flash", "get_flashed_messages"]
