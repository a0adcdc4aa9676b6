"""The signature compiler, without an event loop: sources inferred, mistakes refused."""

import uuid
from typing import Annotated, Any

import msgspec
import pytest

from tidal import Body, Cookie, Depends, Header, Query, Request, Settings, Tidal
from tidal.exceptions import HandlerSignatureError
from tidal.http import signature as sig


class Card(msgspec.Struct):
    title: str


def sources(func: Any, **kwargs: Any) -> dict[str, tuple[str, str]]:
    compiled = sig.compile_signature(func, **kwargs)
    return {p.name: (p.source, p.key) for p in compiled.parameters}


def test_sources_are_inferred() -> None:
    async def handler(
        board_id: int,
        request: Request,
        settings: Settings,
        app: Tidal,
        card: Card,
        q: str = "",
        ids: list[uuid.UUID] = [],  # noqa: B006
        x_trace_id: Annotated[str, Header()] = "",
        sid: Annotated[str, Cookie("session")] = "",
        raw_limit: Annotated[int, Query("limit")] = 5,
    ) -> None:
        return None

    assert sources(handler, path_params={"board_id": int}) == {
        "board_id": ("path", "board_id"),
        "request": ("request", "request"),
        "settings": ("settings", "settings"),
        "app": ("app", "app"),
        "card": ("body", "card"),
        "q": ("query", "q"),
        "ids": ("query", "ids"),
        "x_trace_id": ("header", "x-trace-id"),
        "sid": ("cookie", "session"),
        "raw_limit": ("query", "limit"),
    }


def test_path_param_missing_from_signature() -> None:
    async def handler() -> None:
        return None

    with pytest.raises(HandlerSignatureError, match=r"declares \['board_id'\]"):
        sig.compile_signature(handler, path_params={"board_id": int})


def test_two_bodies_refused() -> None:
    async def handler(a: Card, b: Card) -> None:
        return None

    with pytest.raises(HandlerSignatureError, match="more than one body parameter"):
        sig.compile_signature(handler)


def test_body_on_get_refused() -> None:
    async def handler(card: Card) -> None:
        return None

    with pytest.raises(HandlerSignatureError, match="carry none"):
        sig.compile_signature(handler, body_allowed=False)


def test_unfillable_type_names_the_fix() -> None:
    class Mailer:
        pass

    async def handler(mailer: Mailer) -> None:
        return None

    with pytest.raises(HandlerSignatureError, match=r"app.provide\(Mailer, factory\)") as info:
        sig.compile_signature(handler)
    assert "test_signature.py" in str(info.value)


def test_marker_as_default_is_refused() -> None:
    async def handler(token: str = Header()) -> None:  # type: ignore[assignment]
        return None

    with pytest.raises(HandlerSignatureError, match="inside Annotated"):
        sig.compile_signature(handler)


def test_dependency_cycle() -> None:
    def a(x: Annotated[int, Depends(lambda: 1)]) -> int:
        return x

    def b(y: Annotated[int, Depends(a)]) -> int:
        return y

    compiled = sig.compile_signature(b)
    assert compiled.parameters[0].dependency is not None

    def loop(z: Annotated[int, Depends(lambda z2=None: 0)]) -> int:
        return z

    assert sig.compile_signature(loop).parameters[0].source == sig.DEPENDENCY


def test_variadic_refused() -> None:
    async def handler(*args: Any) -> None:
        return None

    with pytest.raises(HandlerSignatureError, match="cannot be filled"):
        sig.compile_signature(handler)


def test_raw_body_marker() -> None:
    async def handler(data: Annotated[bytes, Body()]) -> None:
        return None

    compiled = sig.compile_signature(handler)
    assert compiled.parameters[0].source == sig.BODY
    assert compiled.body is compiled.parameters[0]
