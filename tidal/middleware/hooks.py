"""Response hooks: work that must happen when a response starts (save a session, set its
cookie), registered by the request only when it is needed.

The outer middleware (``ServerErrorMiddleware``) already wraps ``send`` once per request;
it runs the hooks found in ``scope[RESPONSE_HOOKS]`` when the response starts. A feature
that registers its hook lazily (a session, once loaded) costs nothing to requests that never
use it, instead of one more ``send`` wrapper on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tidal.types import Scope

RESPONSE_HOOKS = "tidal.response_hooks"

# Called with the response status; returns headers to add to the response.
ResponseHook = Callable[[int], Awaitable[list[tuple[bytes, bytes]]]]


def add_response_hook(scope: Scope, hook: ResponseHook) -> bool:
    """Run ``hook`` when this request's response starts. False when no outer middleware
    runs hooks for this scope (the caller must then wrap ``send`` itself)."""
    hooks: list[ResponseHook] | None = scope.get(RESPONSE_HOOKS)
    if hooks is None:
        return False
    hooks.append(hook)
    return True


def supports_response_hooks(scope: Scope) -> bool:
    return RESPONSE_HOOKS in scope


__all__ = ["RESPONSE_HOOKS", "ResponseHook", "add_response_hook", "supports_response_hooks"]
