"""Typed path converters: ``{id:int}`` matches digits and hands the handler an ``int``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from tidal.exceptions import ImproperlyConfigured


class Converter(NamedTuple):
    """How one path segment is matched (``regex``), parsed and written back by ``url_for``."""

    regex: str
    type: type
    parse: Callable[[str], Any]
    render: Callable[[Any], str] = str


def _float_render(value: Any) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


CONVERTERS: dict[str, Converter] = {
    "str": Converter(r"[^/]+", str, str),
    "int": Converter(r"[0-9]+", int, int),
    "float": Converter(r"[0-9]+(?:\.[0-9]+)?", float, float, _float_render),
    "uuid": Converter(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        uuid.UUID,
        uuid.UUID,
    ),
    "slug": Converter(r"[-a-zA-Z0-9_]+", str, str),
    "path": Converter(r".*", str, str),
}


def register_converter(name: str, converter: Converter) -> None:
    """Add a converter usable as ``{param:name}`` in every route declared afterwards."""
    if name in CONVERTERS and CONVERTERS[name] != converter:
        raise ImproperlyConfigured(
            f"A different path converter named {name!r} already exists; pick another name."
        )
    CONVERTERS[name] = converter


def get_converter(name: str, path: str) -> Converter:
    try:
        return CONVERTERS[name]
    except KeyError:
        known = ", ".join(sorted(CONVERTERS))
        raise ImproperlyConfigured(
            f"Unknown path converter {name!r} in {path!r}. Known converters: {known}; "
            "add one with tidal.http.converters.register_converter()."
        ) from None


__all__ = ["CONVERTERS", "Converter", "get_converter", "register_converter"]
