"""Refuse requests whose Host header is not one of ``allowed_hosts`` (400, before any app
code runs); WebSocket handshakes with a bad Host are refused (403)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tidal.http.errors import BadRequest, send_error
from tidal.security.hosts import effective_patterns, host_matches, split_host
from tidal.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("tidal.security.hosts")
_CACHE_LIMIT = 256


class AllowedHostsMiddleware:
    """Validate the Host header against ``allowed_hosts`` (see ``tidal.security.hosts``).

    A request with two Host headers, a malformed one (``evil.com@good.com``) or a host not
    listed gets 400 (problem+json, or an HTML page for browsers); so does one with no Host
    header unless the server's own address (``scope["server"]``, which URLs then come
    from) is allowed. Accepted hosts are remembered (up to 256), so the usual case costs
    one dict lookup.

    Args:
        app: the next application.
        allowed_hosts: patterns; empty with ``debug`` allows the loopback names.
        debug: name the refused host and the setting to change in the error.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str], debug: bool = False) -> None:
        self.app = app
        self.debug = debug
        self.patterns = effective_patterns(allowed_hosts, debug)
        self.allow_all = "*" in self.patterns
        # Host values already accepted: a bounded cache the outer middleware reads too.
        self.accepted: dict[bytes, None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_all or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host: bytes | None = None
        count = 0
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
                count += 1
        if count == 1 and host in self.accepted:
            await self.app(scope, receive, send)
            return
        problem = self.check(scope, host, count)
        if problem is not None:
            await self.refuse(scope, send, host if count == 1 else None, problem)
            return
        await self.app(scope, receive, send)

    def check(self, scope: Scope, host: bytes | None, count: int) -> str | None:
        """Why the request is refused, given its ``count`` Host headers (``host`` the
        last), or None when it may go on. The outer middleware calls this inline for HTTP
        requests whose Host is not in ``accepted``."""
        if count > 1:
            return "The request has two Host headers."
        if host is None:
            # HTTP/1.0 may omit Host; URLs are then built from the server's own address
            # (not the client's say), which must be allowed too.
            server = scope.get("server")
            name = server[0] if server else None
            if not isinstance(name, str) or self.problem(name.encode("latin-1")) is not None:
                return "The request has no Host header."
            return None
        if host in self.accepted:
            return None
        problem = self.problem(host)
        if problem is None and len(self.accepted) < _CACHE_LIMIT:
            self.accepted[host] = None
        return problem

    def problem(self, host: bytes) -> str | None:
        """Why ``host`` is refused, or None when it is allowed."""
        parts = split_host(host.decode("latin-1"))
        if parts is None:
            return "The Host header is not a valid host name."
        if not host_matches(parts[0], self.patterns):
            if self.debug:
                return (
                    f"Invalid Host header {parts[0]!r}. Add {parts[0]!r} to "
                    "TIDAL_ALLOWED_HOSTS if this site should answer for it."
                )
            return "The Host header names a site this server does not serve."
        return None

    async def refuse(self, scope: Scope, send: Send, host: bytes | None, detail: str) -> None:
        logger.warning(
            "Refused %s %s: %s (Host: %r)",
            scope.get("method", "WEBSOCKET"),
            scope.get("path"),
            detail,
            host,
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "Invalid Host"})
            return
        await send_error(scope, send, BadRequest(detail))


__all__ = ["AllowedHostsMiddleware"]
