"""What every template rendered for a request can use, computed only if it is used.

``render`` puts ``request``, ``csrf_token`` and (once authentication sets
``scope["tidal.user"]``) ``user`` in the context; the Jinja environment adds the functions
``csrf_input()``, ``get_flashed_messages()``, ``url_for()`` and ``static()``.

Sessions are loaded lazily and Jinja prints a variable synchronously, so ``{{ csrf_token }}``
cannot wait for the session store. When the session is not loaded yet it prints a random
placeholder instead, and ``render`` swaps the real token in once the page is done: a page
that never shows a token never loads the session or starts one.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar, Token
from typing import Any

from markupsafe import Markup, escape

from tidal.types import Scope

SESSION_KEY = "tidal.session"  # tidal.sessions.SCOPE_KEY
USER_KEY = "tidal.user"  # set by authentication: the user of the request
CSRF_FIELD = "csrf_token"

_rendering: ContextVar[LazyCsrfToken | None] = ContextVar("tidal.templates.csrf", default=None)


class LazyCsrfToken:
    """``{{ csrf_token }}``: the request's masked CSRF token, made on first use.

    Empty when the application has no sessions (and therefore no CSRF check)."""

    __slots__ = ("_token", "placeholder", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._token: str | None = None
        self.placeholder: str | None = None

    def _session(self) -> Any:
        from tidal.sessions.session import HttpSession

        session = self.scope.get(SESSION_KEY)
        return session if isinstance(session, HttpSession) else None

    def __str__(self) -> str:
        if self._token is not None:
            return self._token
        session = self._session()
        if session is None:
            self._token = ""
            return ""
        if session.loaded:
            from tidal.security.csrf import mask, session_secret

            secret = session_secret(session)
            assert secret is not None
            self._token = mask(secret)
            return self._token
        if self.placeholder is None:
            self.placeholder = f"tidal-csrf-{secrets.token_hex(16)}"
        return self.placeholder

    def __html__(self) -> str:
        return str(escape(str(self)))

    async def resolve(self) -> str:
        """The token, loading the session if needed."""
        if self._token is None:
            session = self._session()
            if session is None:
                self._token = ""
            else:
                from tidal.security.csrf import get_csrf_token

                self._token = await get_csrf_token(self.scope)
        return self._token

    async def fill(self, content: str) -> str:
        """``content`` with the placeholders this token printed replaced by the token."""
        if self.placeholder is None or self.placeholder not in content:
            return content
        return content.replace(self.placeholder, await self.resolve())


def csrf_input_html(token: str) -> Markup:
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def current_csrf_token() -> str:
    """The CSRF token of the page ``render`` is producing (possibly a placeholder it
    replaces afterwards); empty outside ``render`` or without sessions. Forms use it to
    include their CSRF field."""
    token = _rendering.get()
    return str(token) if token is not None else ""


def activate(token: LazyCsrfToken) -> Token[LazyCsrfToken | None]:
    """Make ``token`` the current page's CSRF token while a template renders; pass the
    result to ``deactivate`` afterwards. (Two calls rather than a context manager: this
    runs on every render, and ``contextlib`` costs more than the rest of it.)"""
    return _rendering.set(token)


def deactivate(reset: Token[LazyCsrfToken | None]) -> None:
    _rendering.reset(reset)


def request_context(scope: Scope) -> tuple[dict[str, Any], LazyCsrfToken]:
    """The variables ``render`` gives every template, and the CSRF token among them."""
    token = LazyCsrfToken(scope)
    values: dict[str, Any] = {"csrf_token": token}
    user = scope.get(USER_KEY, _MISSING)
    if user is not _MISSING:
        values["user"] = user
    return values, token


_MISSING: Any = object()


__all__ = [
    "CSRF_FIELD",
    "LazyCsrfToken",
    "activate",
    "csrf_input_html",
    "current_csrf_token",
    "deactivate",
    "request_context",
]
