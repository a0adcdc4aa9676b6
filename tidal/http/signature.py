"""The handler-signature compiler: run once per handler at start-up, never per request.

It reads a function's parameters and annotations and decides, for each, where its value
comes from (path, query, header, cookie, body, a dependency, or a framework object) and how
it is validated. The result is a ``Signature`` the endpoint executes without introspection.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args, get_origin

import msgspec
from starlette.requests import Request as StarletteRequest
from starlette.websockets import WebSocket as StarletteWebSocket

from tidal.conf.settings import Settings
from tidal.exceptions import HandlerSignatureError
from tidal.http.params import Body, Depends, Param

EMPTY: Any = inspect.Parameter.empty

SCALARS: tuple[type, ...] = (
    str,
    int,
    float,
    bool,
    bytes,
    uuid.UUID,
    datetime.datetime,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    decimal.Decimal,
)
SEQUENCES = (list, set, frozenset, tuple)

# Where a parameter's value comes from.
PATH, QUERY, HEADER, COOKIE, BODY = "path", "query", "header", "cookie", "body"
REQUEST, WEBSOCKET, SETTINGS, APP, DEPENDENCY = "request", "websocket", "settings", "app", "dep"


@dataclasses.dataclass(eq=False)
class Parameter:
    """One compiled parameter; ``key`` is its name on the wire."""

    name: str
    source: str
    key: str
    annotation: Any
    default: Any = EMPTY
    description: str = ""
    multi: bool = False
    convert: bool = True
    media_type: str = "application/json"
    dependency: Signature | None = None
    discard: bool = False  # a route-level guard: run it, do not pass its value
    whole: bool = False  # a Struct filled from the whole query string
    list_keys: frozenset[str] = frozenset()  # its fields that take repeated values

    @property
    def required(self) -> bool:
        return self.default is EMPTY


@dataclasses.dataclass(eq=False)
class Signature:
    """A compiled callable: how to fill each parameter and how to call it."""

    func: Callable[..., Any]
    parameters: list[Parameter]
    is_async: bool
    is_generator: bool
    is_async_generator: bool
    return_annotation: Any = EMPTY

    @property
    def body(self) -> Parameter | None:
        return next((p for p in self.all_parameters() if p.source == BODY), None)

    def all_parameters(self) -> list[Parameter]:
        """This callable's parameters and its dependencies', depth first, deduplicated."""
        found: list[Parameter] = []
        seen: set[int] = set()

        def walk(signature: Signature) -> None:
            for parameter in signature.parameters:
                if parameter.dependency is not None:
                    if id(parameter.dependency.func) not in seen:
                        seen.add(id(parameter.dependency.func))
                        walk(parameter.dependency)
                elif all(p.key != parameter.key or p.source != parameter.source for p in found):
                    found.append(parameter)

        walk(self)
        return found


def _where(func: Callable[..., Any]) -> str:
    code = getattr(func, "__code__", None)
    location = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
    return f"{getattr(func, '__qualname__', repr(func))}{location}"


def _strip_optional(annotation: Any) -> Any:
    """``T`` from ``T | None``, ``Annotated[T, ...]`` and ``Annotated[T, ...] | None``."""
    if get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation = args[0]
    if get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def is_struct(annotation: Any) -> bool:
    """msgspec Structs, dataclasses and the like: filled from a whole mapping."""
    bare = _strip_optional(annotation)
    return isinstance(bare, type) and (
        issubclass(bare, msgspec.Struct) or dataclasses.is_dataclass(bare)
    )


def is_scalar(annotation: Any) -> bool:
    """Values that fit in one query/header/cookie string."""
    annotation = _strip_optional(annotation)
    if annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return True
    return isinstance(annotation, type) and (
        issubclass(annotation, SCALARS) or issubclass(annotation, enum.Enum)
    )


def is_scalar_sequence(annotation: Any) -> bool:
    annotation = _strip_optional(annotation)
    args = get_args(annotation)
    return get_origin(annotation) in SEQUENCES and len(args) >= 1 and is_scalar(args[0])


def _is_subclass(annotation: Any, cls: type) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, cls)


class _Annotations:
    """Carrier so ``typing.get_type_hints`` resolves one annotation at a time."""

    def __init__(self, name: str, annotation: Any) -> None:
        self.__annotations__ = {name: annotation}


def _resolve_hints(func: Callable[..., Any], where: str) -> dict[str, Any]:
    """Each annotation resolved on its own, in the function's globals and closure, so an
    unresolvable return annotation (used only for docs) does not stop the handler."""
    raw = inspect.get_annotations(func)
    globalns = getattr(func, "__globals__", {})
    try:
        localns = dict(inspect.getclosurevars(func).nonlocals)
    except (TypeError, ValueError):
        localns = {}
    hints: dict[str, Any] = {}
    for name, annotation in raw.items():
        try:
            hints[name] = typing.get_type_hints(
                _Annotations(name, annotation), globalns, localns, include_extras=True
            )[name]
        except Exception as exc:
            if name == "return":
                continue
            raise HandlerSignatureError(
                f"Cannot resolve the annotation of {name!r} in {where}: {exc}. Import the "
                "names used in annotations at module level (not only under TYPE_CHECKING)."
            ) from exc
    return hints


def compile_signature(
    func: Callable[..., Any],
    *,
    path_params: Mapping[str, type] | None = None,
    providers: Mapping[type, Callable[..., Any]] | None = None,
    body_allowed: bool = True,
    websocket: bool = False,
    _stack: tuple[Callable[..., Any], ...] = (),
) -> Signature:
    """Compile ``func``'s parameters. Raises ``HandlerSignatureError`` naming the handler,
    its file and line, the parameter and the fix, so mistakes surface at start-up."""
    path_params = path_params or {}
    providers = providers or {}
    if func in _stack:
        chain = " -> ".join(getattr(f, "__qualname__", repr(f)) for f in (*_stack, func))
        raise HandlerSignatureError(f"Dependency cycle: {chain}.")
    where = _where(func)
    hints = _resolve_hints(func, where)
    parameters: list[Parameter] = []
    for p in inspect.signature(func).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise HandlerSignatureError(f"{where}: *{p.name} / **{p.name} cannot be filled.")
        if p.kind is p.POSITIONAL_ONLY:
            raise HandlerSignatureError(
                f"{where}: parameter {p.name!r} is positional-only; handlers are called "
                "with keyword arguments."
            )
        annotation = hints.get(p.name, EMPTY)
        parameters.append(
            _compile_parameter(
                func,
                where,
                p.name,
                annotation,
                p.default,
                path_params,
                providers,
                websocket,
                (*_stack, func),
            )
        )
    bodies = [p for p in parameters if p.source == BODY]
    if len(bodies) > 1:
        names = ", ".join(p.name for p in bodies)
        raise HandlerSignatureError(
            f"{where}: more than one body parameter ({names}). Combine them into one "
            "msgspec.Struct."
        )
    if bodies and not body_allowed:
        raise HandlerSignatureError(
            f"{where}: parameter {bodies[0].name!r} would be read from the request body, "
            "but this route's methods (GET/HEAD/DELETE/websocket) carry none. Use "
            "Annotated[..., Query()] for query values, or a POST/PUT/PATCH route."
        )
    if websocket and not _stack and not inspect.iscoroutinefunction(func):
        raise HandlerSignatureError(
            f"{where}: WebSocket handlers must be `async def` (they await the socket)."
        )
    signature = Signature(
        func=func,
        parameters=parameters,
        is_async=inspect.iscoroutinefunction(func),
        is_generator=inspect.isgeneratorfunction(func),
        is_async_generator=inspect.isasyncgenfunction(func),
        return_annotation=hints.get("return", EMPTY),
    )
    # A path parameter may be taken by a dependency only (``board: Annotated[Board,
    # Depends(load_board)]`` where ``load_board`` takes ``board_id``).
    used = {p.key for p in signature.all_parameters() if p.source == PATH}
    missing = set(path_params) - used
    if missing and not _stack:
        raise HandlerSignatureError(
            f"{where}: the path declares {sorted(missing)} but the handler has no such "
            "parameter. Add it to the signature."
        )
    return signature


def _compile_parameter(
    func: Callable[..., Any],
    where: str,
    name: str,
    annotation: Any,
    default: Any,
    path_params: Mapping[str, type],
    providers: Mapping[type, Callable[..., Any]],
    websocket: bool,
    stack: tuple[Callable[..., Any], ...],
) -> Parameter:
    marker: Param | Depends | None = None
    if get_origin(annotation) is typing.Annotated:
        base, *metadata = get_args(annotation)
        markers = [m for m in metadata if isinstance(m, (Param, Depends))]
        if len(markers) > 1:
            raise HandlerSignatureError(f"{where}: parameter {name!r} has two source markers.")
        marker = markers[0] if markers else None
        constraints = [m for m in metadata if not isinstance(m, (Param, Depends))]
        # Keep msgspec.Meta(ge=1, ...) and friends: they validate and document the value.
        annotation = typing.Annotated[(base, *constraints)] if constraints else base
    if isinstance(default, (Param, Depends)):
        raise HandlerSignatureError(
            f"{where}: put {default!r} inside Annotated, e.g. "
            f"{name}: Annotated[T, {type(default).__name__}(...)]."
        )

    def dependency(provider: Callable[..., Any]) -> Parameter:
        signature = compile_signature(
            provider,
            path_params=path_params,
            providers=providers,
            websocket=websocket,
            _stack=stack,
        )
        return Parameter(name, DEPENDENCY, name, annotation, default, dependency=signature)

    if isinstance(marker, Depends):
        return dependency(marker.provider)
    if marker is not None:
        source = marker.source
        key = marker.alias or name
        if source == HEADER and marker.alias is None:
            key = name.replace("_", "-")
        if source == HEADER:
            key = key.lower()
        if annotation is EMPTY:
            annotation = bytes if source == BODY else str
        if source == PATH and key not in path_params:
            raise HandlerSignatureError(
                f"{where}: {name!r} is marked Path() but the path has no {{{key}}}."
            )
        if source in (QUERY, HEADER, COOKIE) and not (
            is_scalar(annotation)
            or is_scalar_sequence(annotation)
            or (source == QUERY and is_struct(annotation))
        ):
            raise HandlerSignatureError(
                f"{where}: {source} parameter {name!r} must be a scalar or a list of scalars"
                f"{' (or a Struct of them)' if source == QUERY else ''}, not {annotation!r}."
            )
        media_type = "application/json"
        if isinstance(marker, Body):
            media_type = marker.media_type or _default_media_type(annotation)
        return _value(name, source, key, annotation, default, marker.description, media_type)
    if name in path_params:
        if annotation is EMPTY:
            annotation = path_params[name]
        parameter = _value(name, PATH, name, annotation, default)
        parameter.convert = annotation is not path_params[name]
        return parameter
    bare = _strip_optional(annotation)
    if annotation is EMPTY:
        if name == "request":
            return Parameter(name, REQUEST, name, StarletteRequest)
        if name == "websocket":
            return Parameter(name, WEBSOCKET, name, StarletteWebSocket)
        return _value(name, QUERY, name, str, default)
    if _is_subclass(bare, StarletteWebSocket):
        if not websocket:
            raise HandlerSignatureError(f"{where}: {name!r} asks for a WebSocket in an HTTP route.")
        return Parameter(name, WEBSOCKET, name, bare)
    if _is_subclass(bare, StarletteRequest):
        if websocket:
            raise HandlerSignatureError(
                f"{where}: {name!r} asks for a Request in a WebSocket route; use WebSocket."
            )
        return Parameter(name, REQUEST, name, bare)
    if _is_subclass(bare, Settings):
        return Parameter(name, SETTINGS, name, bare)
    if isinstance(bare, type) and getattr(bare, "__tidal_app__", False):
        return Parameter(name, APP, name, bare)
    if isinstance(bare, type):
        for provided, provider in providers.items():
            if issubclass(bare, provided):
                return dependency(provider)
    if is_scalar(annotation) or is_scalar_sequence(annotation):
        return _value(name, QUERY, name, annotation, default)
    if websocket:
        raise HandlerSignatureError(
            f"{where}: cannot fill {name!r}: {annotation!r} in a WebSocket route "
            "(no body). Receive messages from the WebSocket instead."
        )
    try:
        msgspec.json.schema(annotation)
    except (TypeError, ValueError) as exc:
        raise HandlerSignatureError(
            f"{where}: cannot fill parameter {name!r} of type {annotation!r}: it is not a "
            "path name, a scalar query value, a msgspec-decodable body, or a type with a "
            f"provider ({str(exc).splitlines()[0]}). Register a provider with "
            f"app.provide({getattr(bare, '__name__', bare)}, factory) or use "
            "Annotated[..., Depends(factory)]."
        ) from exc
    return _value(name, BODY, name, annotation, default)


def _default_media_type(annotation: Any) -> str:
    bare = _strip_optional(annotation)
    if bare is bytes:
        return "application/octet-stream"
    if bare is str:
        return "text/plain"
    return "application/json"


def is_json_media(media: str) -> bool:
    """``application/json`` and the ``application/*+json`` family."""
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _value(
    name: str,
    source: str,
    key: str,
    annotation: Any,
    default: Any,
    description: str = "",
    media_type: str = "application/json",
) -> Parameter:
    multi = source in (QUERY, HEADER) and is_scalar_sequence(annotation)
    plain = annotation in (str, Any) or annotation == (str | None)
    whole = source == QUERY and is_struct(annotation)
    return Parameter(
        name,
        source,
        key,
        annotation,
        default,
        description,
        multi,
        multi or not plain,
        media_type,
        whole=whole,
        list_keys=frozenset(
            f.encode_name
            for f in (msgspec.structs.fields(_strip_optional(annotation)) if whole else ())
            if is_scalar_sequence(f.type)
        ),
    )


__all__ = [
    "APP",
    "BODY",
    "COOKIE",
    "DEPENDENCY",
    "EMPTY",
    "HEADER",
    "PATH",
    "QUERY",
    "REQUEST",
    "SETTINGS",
    "WEBSOCKET",
    "Parameter",
    "Signature",
    "compile_signature",
    "is_json_media",
    "is_scalar",
    "is_scalar_sequence",
    "is_struct",
]
