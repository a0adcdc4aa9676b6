"""Markers that say where a handler parameter comes from, used inside ``Annotated``.

Most parameters need no marker: path names come from the path, structs and containers from
the JSON body, framework types by injection, and other plain values from the query string.
A marker overrides that: ``token: Annotated[str, Header("x-token")]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Param:
    """Base marker; ``alias`` is the name on the wire when it differs from the argument."""

    source = ""

    def __init__(self, alias: str | None = None, *, description: str = "") -> None:
        self.alias = alias
        self.description = description

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.alias!r})"


class Path(Param):
    source = "path"


class Query(Param):
    source = "query"


class Header(Param):
    """A request header; the default name is the argument with ``_`` as ``-``."""

    source = "header"


class Cookie(Param):
    source = "cookie"


class Body(Param):
    """The request body: JSON decoded into the annotation, text with ``str``, raw with
    ``bytes``. ``media_type`` defaults from the annotation (octet-stream, text/plain, JSON);
    a ``+json`` media type is decoded as JSON."""

    source = "body"

    def __init__(self, *, media_type: str | None = None, description: str = "") -> None:
        super().__init__(None, description=description)
        self.media_type = media_type


class Depends:
    """A value computed by ``provider`` (itself compiled like a handler). A provider may be a
    generator: code after ``yield`` runs after the handler, and sees its exception.
    Within one request, each provider runs once however many parameters ask for it."""

    def __init__(self, provider: Callable[..., Any]) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"Depends({getattr(self.provider, '__qualname__', self.provider)!r})"


__all__ = ["Body", "Cookie", "Depends", "Header", "Param", "Path", "Query"]
