"""Add the security headers (``tidal.security.headers``) to every HTTP response."""

from __future__ import annotations

from collections.abc import Sequence

from tidal.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeadersMiddleware:
    """Append each header of ``headers`` to responses that do not already carry it, so a
    handler (or inner middleware) that sets, say, its own Content-Security-Policy wins and
    no header is ever sent twice.

    Args:
        app: the next application.
        headers: ``(name, value)`` pairs, e.g. ``security_headers(settings)``.
    """

    def __init__(self, app: ASGIApp, *, headers: Sequence[tuple[str, str]]) -> None:
        self.app = app
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.headers:
            await self.app(scope, receive, send)
            return
        ours = self.headers
        names = self.names

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = list(message.get("headers", ()))
                present = {key.lower() for key, _ in existing if key.lower() in names}
                if present:
                    existing.extend(pair for pair in ours if pair[0] not in present)
                else:
                    existing.extend(ours)
                message["headers"] = existing
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["SecurityHeadersMiddleware"]
