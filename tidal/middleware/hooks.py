"""What happens when a response starts: the headers every response gets, and response
hooks, work registered by the request only when it is needed (save a session, set its
cookie).

The outer middleware (``ServerErrorMiddleware``) keeps one ``Exchange`` (defined with the
responses, which use it) per HTTP request in ``scope[EXCHANGE]``; its ``send`` wraps the
server's once, adds the headers and runs the hooks when the response starts. A feature that
registers its hook lazily (a session, once loaded) costs nothing to requests that never use
it, instead of one more ``send`` wrapper on every request.
"""

from __future__ import annotations

from tidal.http.responses import EXCHANGE, Exchange, ResponseHook
from tidal.types import Scope


def add_response_hook(scope: Scope, hook: ResponseHook) -> bool:
    """Run ``hook`` when this request's response starts. False when no outer middleware
    runs hooks for this scope (the caller must then wrap ``send`` itself)."""
    exchange: Exchange | None = scope.get(EXCHANGE)
    if exchange is None:
        return False
    if exchange.hooks is None:
        exchange.hooks = [hook]
    else:
        exchange.hooks.append(hook)
    return True


def supports_response_hooks(scope: Scope) -> bool:
    return EXCHANGE in scope


__all__ = [
    "EXCHANGE",
    "Exchange",
    "ResponseHook",
    "add_response_hook",
    "supports_response_hooks",
]
