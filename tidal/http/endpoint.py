"""Executing a compiled signature for one request: fill the arguments, call, respond.

Everything here runs per request, so it only follows the plan ``signature.py`` made: no
introspection, and work (query parsing, body reading, Request objects) only when asked for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncGenerator, Callable, Generator
from concurrent.futures import Executor
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio.to_thread
import msgspec
from starlette.requests import cookie_parser
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tidal.http import signature as sig
from tidal.http.errors import (
    BadRequest,
    FieldError,
    HTTPError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    describe,
    send_error,
)
from tidal.http.requests import Request
from tidal.http.responses import Response, respond
from tidal.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.http.routing import Route

logger = logging.getLogger("tidal.request")
_ = SimpleCookie  # cookie parsing follows the browser rules in starlette's cookie_parser


class RequestState:
    """What one request has computed so far; created only for handlers with parameters."""

    __slots__ = (
        "app",
        "body",
        "cache",
        "cleanups",
        "cookies",
        "query",
        "receive",
        "request",
        "scope",
        "send",
        "websocket",
    )

    def __init__(self, app: Tidal, scope: Scope, receive: Receive, send: Send) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.query: dict[str, list[str]] | None = None
        self.cookies: dict[str, str] | None = None
        self.body: bytes | None = None
        self.request: Request | None = None
        self.websocket: WebSocket | None = None
        self.cache: dict[Callable[..., Any], Any] = {}
        self.cleanups: list[AsyncGenerator[Any, None] | Generator[Any, None, None]] = []

    def get_query(self) -> dict[str, list[str]]:
        if self.query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            query: dict[str, list[str]] = {}
            try:
                pairs = parse_qsl(raw, keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                raise BadRequest("The query string is not valid UTF-8.") from None
            for key, value in pairs:
                query.setdefault(key, []).append(value)
            self.query = query
        return self.query

    def get_cookies(self) -> dict[str, str]:
        if self.cookies is None:
            header = next((v for k, v in self.scope["headers"] if k == b"cookie"), b"")
            self.cookies = cookie_parser(header.decode("latin-1"))
        return self.cookies

    def limited_receive(self) -> Receive:
        """``receive`` that refuses bodies over ``max_body_size`` as they stream in."""
        limit = self.app.settings.max_body_size
        receive = self.receive
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            return message

        return limited

    async def read_body(self) -> bytes:
        if self.body is None:
            if self.request is not None:
                self.body = await self.request.body()
            else:
                check_content_length(self.scope, self.app.settings.max_body_size)
                receive = self.limited_receive()
                chunks = []
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnected
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
                self.body = b"".join(chunks)
        return self.body

    def get_request(self) -> Request:
        if self.request is None:
            check_content_length(self.scope, self.app.settings.max_body_size)
            self.request = Request(self.scope, self.limited_receive())
            if self.body is not None:
                self.request._body = self.body
        return self.request


class ClientDisconnected(Exception):
    """The client went away before its request body arrived; there is no one to answer."""


def check_content_length(scope: Scope, limit: int) -> None:
    """Refuse an announced oversize body before reading a byte of it."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise BadRequest("The Content-Length header is not a number.") from None
            if length > limit:
                raise PayloadTooLarge(
                    f"The request body ({length} bytes) is larger than the limit of "
                    f"{limit} bytes (TIDAL_MAX_BODY_SIZE)."
                )
            return


def _content_type(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"content-type":
            media: str = value.decode("latin-1").partition(";")[0].strip().lower()
            return media
    return ""


def _missing(parameter: sig.Parameter) -> FieldError:
    where = "body" if parameter.source == sig.BODY else parameter.source
    message = (
        "The request body is required." if where == "body" else f"Missing required {where} value."
    )
    return FieldError("$" if where == "body" else parameter.key, message, where)


def struct_errors(
    data: Any, annotation: Any, where: str, *, strict: bool = True
) -> list[FieldError]:
    """Every invalid field of ``data`` for a Struct ``annotation``, not only the first one
    msgspec reports. Runs only on the error path."""
    target = sig._strip_optional(annotation)
    if not (
        isinstance(target, type) and issubclass(target, msgspec.Struct) and isinstance(data, dict)
    ):
        try:
            msgspec.convert(data, annotation, strict=strict)
        except msgspec.ValidationError as exc:
            return [describe(exc, where)]
        return []
    prefix = "$." if where == "body" else ""
    errors: list[FieldError] = []
    for field in msgspec.structs.fields(target):
        if field.encode_name not in data:
            if field.required:
                missing = "Object missing required field"
                errors.append(FieldError(f"{prefix}{field.encode_name}", missing, where))
            continue
        try:
            msgspec.convert(data[field.encode_name], field.type, strict=strict)
        except msgspec.ValidationError as exc:
            errors.append(describe(exc, where, f"${'.' if prefix else ''}{field.encode_name}"))
    if not prefix:
        for error in errors:
            error.path = error.path.removeprefix("$")
    return errors


async def _decode_body(state: RequestState, parameter: sig.Parameter) -> Any:
    annotation = parameter.annotation
    if sig.is_json_media(parameter.media_type):
        media = _content_type(state.scope)
        raw = await state.read_body()
        if not raw:
            return _Absent
        if not sig.is_json_media(media):
            raise UnsupportedMediaType(
                f"Expected a JSON body (Content-Type: application/json), got "
                f"{media or 'no Content-Type'}."
            )
        try:
            return msgspec.json.decode(raw, type=annotation)
        except msgspec.ValidationError as exc:
            try:
                errors = struct_errors(msgspec.json.decode(raw), annotation, "body")
            except msgspec.DecodeError:
                errors = []
            raise ValidationFailed(errors or [describe(exc, "body")]) from None
        except msgspec.DecodeError as exc:
            raise BadRequest(f"The request body is not valid JSON: {exc}.") from None
        except UnicodeDecodeError:
            raise BadRequest("The request body is not valid UTF-8.") from None
    raw = await state.read_body()
    if annotation is str:
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise BadRequest("The request body is not valid UTF-8.") from None
    return raw


class _AbsentType:
    pass


_Absent: Any = _AbsentType()


def _raw_value(state: RequestState, parameter: sig.Parameter) -> Any:
    source = parameter.source
    if source == sig.PATH:
        return state.scope["path_params"].get(parameter.key, _Absent)
    if source == sig.QUERY:
        if parameter.whole:
            lists = parameter.list_keys
            return {k: v if k in lists else v[-1] for k, v in state.get_query().items()}
        values = state.get_query().get(parameter.key)
        if values is None:
            return _Absent
        return values if parameter.multi else values[-1]
    if source == sig.HEADER:
        key = parameter.key.encode("latin-1")
        found = [v.decode("latin-1") for k, v in state.scope["headers"] if k == key]
        if not found:
            return _Absent
        if parameter.multi:  # repeated lines and comma-separated values alike
            return [part.strip() for line in found for part in line.split(",") if part.strip()]
        return found[-1]
    return state.get_cookies().get(parameter.key, _Absent)


async def resolve(state: RequestState, signature: sig.Signature) -> dict[str, Any]:
    """The keyword arguments for ``signature``; all invalid inputs are reported together."""
    kwargs: dict[str, Any] = {}
    errors: list[FieldError] = []
    for parameter in signature.parameters:
        source = parameter.source
        if source == sig.DEPENDENCY:
            assert parameter.dependency is not None
            try:
                value = await call_dependency(state, parameter.dependency)
            except ValidationFailed as exc:  # report the handler's own errors too
                errors.extend(e for e in exc.errors if e not in errors)
                continue
            if not parameter.discard:
                kwargs[parameter.name] = value
            continue
        if source == sig.REQUEST:
            kwargs[parameter.name] = state.get_request()
            continue
        if source == sig.WEBSOCKET:
            kwargs[parameter.name] = state.websocket
            continue
        if source == sig.SETTINGS:
            kwargs[parameter.name] = state.app.settings
            continue
        if source == sig.APP:
            kwargs[parameter.name] = state.app
            continue
        if source == sig.BODY:
            try:
                value = await _decode_body(state, parameter)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
                continue
        else:
            value = _raw_value(state, parameter)
            if value is not _Absent and parameter.convert:
                try:
                    value = msgspec.convert(value, parameter.annotation, strict=False)
                except msgspec.ValidationError as exc:
                    if parameter.whole:
                        found = struct_errors(value, parameter.annotation, source, strict=False)
                        errors.extend(found or [describe(exc, source)])
                    else:
                        errors.append(describe(exc, source, parameter.key))
                    continue
        if value is _Absent:
            if parameter.required:
                errors.append(_missing(parameter))
                continue
            value = parameter.default
        kwargs[parameter.name] = value
    if errors:
        raise ValidationFailed(errors)
    return kwargs


async def call_dependency(state: RequestState, signature: sig.Signature) -> Any:
    """Run a provider once per request; generators are finished by ``finish``."""
    func = signature.func
    if func in state.cache:
        return state.cache[func]
    kwargs = await resolve(state, signature) if signature.parameters else {}
    if signature.is_async_generator:
        agen = func(**kwargs)
        value = await agen.__anext__()
        state.cleanups.append(agen)
    elif signature.is_generator:
        gen = func(**kwargs)
        value = await anyio.to_thread.run_sync(next, gen)
        state.cleanups.append(gen)
    elif signature.is_async:
        value = await func(**kwargs)
    else:
        value = await anyio.to_thread.run_sync(functools.partial(func, **kwargs))
    state.cache[func] = value
    return value


_DONE = object()


def _resume(gen: Generator[Any, None, None], error: BaseException | None) -> object:
    """Step a sync generator in a worker thread; StopIteration cannot cross into a
    coroutine, so it becomes the ``_DONE`` marker."""
    try:
        if error is None:
            next(gen)
        else:
            gen.throw(error)
    except StopIteration:
        return _DONE
    return None


async def finish(state: RequestState, error: BaseException | None) -> None:
    """Resume generator providers, newest first, passing in the handler's exception; a
    provider may translate it (e.g. rollback and raise a 409) or add its own."""
    while state.cleanups:
        gen = state.cleanups.pop()
        try:
            if isinstance(gen, AsyncGenerator):
                if error is None:
                    await gen.__anext__()
                else:
                    await gen.athrow(error)
            elif await anyio.to_thread.run_sync(_resume, gen, error) is _DONE:
                continue
        except StopAsyncIteration:
            continue
        except BaseException as exc:
            if exc is error:
                continue
            error = exc
            continue
        raise RuntimeError(f"Provider {gen!r} yielded more than once; it must yield exactly once.")
    if error is not None:
        raise error


def make_endpoint(app: Tidal, route: Route, signature: sig.Signature) -> ASGIApp:
    """The ASGI callable for one HTTP route: everything decided here, once."""
    handler = signature.func
    status = route.status_code
    has_params = bool(signature.parameters)
    if route.cpu_bound:

        async def call(kwargs: dict[str, Any]) -> Any:
            pool: Executor = app.process_pool()
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, functools.partial(handler, **kwargs))

    elif signature.is_async:

        async def call(kwargs: dict[str, Any]) -> Any:
            return await handler(**kwargs)

    else:

        async def call(kwargs: dict[str, Any]) -> Any:
            return await anyio.to_thread.run_sync(functools.partial(handler, **kwargs))

    # A handler that cannot reach the scope got no session from the router; a Response it
    # returns might read one, so it gets it before it runs.
    attach = None if route.reaches_scope else app.attach_session
    if route.plain:

        async def plain_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                result = await handler()
            except HTTPError as exc:
                await send_error(scope, send, exc)
                return
            if attach is not None and isinstance(result, Response):
                attach(scope)
            await respond(scope, receive, send, result, status)

        return plain_endpoint

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        state = RequestState(app, scope, receive, send)
        try:
            try:
                kwargs = await resolve(state, signature) if has_params else {}
                result = await call(kwargs)
            except BaseException as exc:
                await finish(state, exc)
                raise
            await finish(state, None)
        except HTTPError as exc:
            await send_error(scope, send, exc)
            return
        except ClientDisconnected:
            return
        if attach is not None and isinstance(result, Response):
            attach(scope)
        await respond(scope, receive, send, result, status)

    return endpoint


def make_websocket_endpoint(app: Tidal, route: Route, signature: sig.Signature) -> ASGIApp:
    """The ASGI callable for a WebSocket route. Refusals before accept become a 403
    handshake answer; a crash after accept closes with 1011 and is logged, never raised."""
    handler = signature.func

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        state = RequestState(app, scope, receive, send)
        state.websocket = websocket
        error: BaseException | None = None
        try:
            kwargs = await resolve(state, signature)
            await handler(**kwargs)
            if websocket.application_state is WebSocketState.CONNECTED:
                await websocket.close(code=1000)
        except WebSocketDisconnect:
            pass
        except HTTPError as exc:
            error = exc
            logger.info("WebSocket %s refused: %s", scope.get("path"), exc.detail)
            if websocket.application_state is not WebSocketState.DISCONNECTED:
                await websocket.close(code=1008, reason=exc.detail[:120])
        except Exception as exc:
            error = exc
            logger.exception("Unhandled error in WebSocket handler %s", route.handler.__qualname__)
            if websocket.application_state is not WebSocketState.DISCONNECTED:
                await websocket.close(code=1011)
        finally:
            try:
                await finish(state, error)
            except Exception as exc:
                if exc is not error:
                    logger.exception("Error while cleaning up WebSocket dependencies")

    return endpoint


__all__ = [
    "RequestState",
    "check_content_length",
    "make_endpoint",
    "make_websocket_endpoint",
    "resolve",
]
