"""Give every request a lazy ``HttpSession`` and save it when the response starts."""

from __future__ import annotations

import functools
from collections.abc import Callable

from tidal.middleware.hooks import supports_response_hooks
from tidal.sessions.backends.base import SessionStore
from tidal.sessions.session import SCOPE_KEY, HttpSession, SessionConfig
from tidal.types import ASGIApp, Message, Receive, Scope, Send


class SessionMiddleware:
    """Put an unloaded ``HttpSession`` in ``scope["tidal.session"]``; when the response
    starts, save it if it changed and add its ``Set-Cookie`` and ``Vary: Cookie``.

    A request that never loads its session costs one small object: no cookie parsing, no
    store lookup, no header. WebSocket scopes get a session to read (the handshake cannot
    set cookies).

    Args:
        app: the next application.
        store: the store, or a function returning it (so it is created in the event loop).
        config: cookie and expiry settings.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: SessionStore | Callable[[], SessionStore],
        config: SessionConfig,
    ) -> None:
        self.app = app
        self.store = store
        self.config = config
        # ``new_session(scope)``: a partial, so the outer middleware that attaches sessions
        # to HTTP requests itself calls no Python frame for it.
        self.new_session: Callable[[Scope], HttpSession] = functools.partial(
            HttpSession, store, config
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or SCOPE_KEY in scope:
            # (a Tidal app mounted in another shares the outer app's session)
            await self.app(scope, receive, send)
            return
        session = self.new_session(scope)
        scope[SCOPE_KEY] = session
        if kind == "websocket" or supports_response_hooks(scope):
            # Inside Tidal's outer middleware the session registers a response hook when
            # (and only if) it is loaded: no send wrapper for requests that never use it.
            await self.app(scope, receive, send)
            return

        async def send_with_session(message: Message) -> None:
            # ``_loaded`` rather than the ``loaded`` property: this runs for every message.
            if session._loaded and message["type"] == "http.response.start":
                secure = scope.get("scheme") == "https"
                extra = await session.response_headers(message["status"], secure=secure)
                if extra:
                    message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_session)


__all__ = ["SessionMiddleware"]
