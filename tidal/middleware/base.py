"""How middleware is declared: a class (or factory) and its options, built at start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidal.types import ASGIApp


class Middleware:
    """``Middleware(CORSMiddleware, allow_origins=[...])``: ``factory(app, **options)`` is
    called once when the stack is built; the result must be an ASGI application."""

    def __init__(self, factory: Callable[..., ASGIApp], /, **options: Any) -> None:
        self.factory = factory
        self.options = options

    def build(self, app: ASGIApp) -> ASGIApp:
        return self.factory(app, **self.options)

    def __repr__(self) -> str:
        name = getattr(self.factory, "__name__", repr(self.factory))
        return f"Middleware({name}, {self.options!r})"


__all__ = ["Middleware"]
