"""Channels: ``@app.channel("board:{board_id:int}")`` and the registry behind it.

A channel is a family of topics named by a pattern. Its *join handler* (the decorated
function) authorizes a socket's join: it sees the socket (and its ``user``) and the
topic's parameters, raises ``Refused`` to say no, and returns the join reply's payload.
``@board.on("card:move")`` handles an incoming event; ``@board.on_leave`` runs when a
socket leaves or disconnects. Handler parameters are filled by name:

``socket``   the ``Socket`` (or any parameter annotated ``Socket``)
``user``     what the ``authenticate`` hook returned for this connection
``topic``    the concrete topic, e.g. ``"board:7"``
``payload``  the frame's payload, validated against the annotation (a msgspec Struct...)
``event``    the event name (event handlers)
``reason``   ``"leave"``, ``"disconnect"`` or ``"revoked"`` (leave handlers)
a topic parameter by its name, converted like a path parameter (``{board_id:int}``)

For broadcasts only some subscribers may see (live model broadcasts), a channel declares
``@board.group_by`` (sockets with equal keys have equal rights) and ``@board.visible_to``
(``(group_key, broadcast) -> bool``), which runs once per group per event.

All of it is reached through one ``Channels`` registry per application, created by
``install(app)`` and injected into handlers annotated ``Channels``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import typing
from collections.abc import Awaitable, Callable, Hashable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from starlette.websockets import WebSocket, WebSocketState

from tidal.conf.settings import Settings
from tidal.exceptions import HandlerSignatureError, ImproperlyConfigured
from tidal.http.converters import Converter, get_converter
from tidal.http.errors import HTTPError
from tidal.realtime import protocol
from tidal.realtime.backends.base import History, PubSub
from tidal.realtime.connection import InvalidPayload, Socket
from tidal.realtime.control import CONTROL_TOPIC, on_control
from tidal.realtime.handshake import (
    Authenticate,
    CheckOrigin,
    UserKey,
    default_user_key,
    same_origin,
    scope_user,
)
from tidal.realtime.hub import Broadcast, Hub, Visibility
from tidal.realtime.logfilter import quiet_client_errors
from tidal.realtime.presence import Presence

if TYPE_CHECKING:
    from starlette.requests import Request

    from tidal.app import Tidal
    from tidal.realtime.sse import EventStream

logger = logging.getLogger("tidal.realtime")
F = TypeVar("F", bound=Callable[..., Any])
STATE_KEY = "tidal.realtime.channels"
STATIC_URL = "/_tidal/static"
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
_NAME = re.compile(r"[^\x00-\x20\x7f]{1,200}")
RefreshUser = Callable[[Any], Awaitable[Any]]


def check_name(value: str, what: str) -> None:
    """Topics and event names: 1-200 printable characters, no spaces or control codes."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(
            f"Invalid {what} {value!r}: use 1-200 printable characters without spaces."
        )


class TopicPattern:
    """A compiled topic template like ``board:{board_id:int}``; a ``str`` parameter stops
    at ``:`` so ``room:{a}:{b}`` splits as expected."""

    def __init__(self, template: str) -> None:
        check_name(_PARAM.sub("x", template), "topic pattern")
        self.template = template
        self.converters: dict[str, Converter] = {}
        pattern = "^"
        position = 0
        for match in _PARAM.finditer(template):
            name, kind = match.group(1), match.group(2) or "str"
            if name in self.converters:
                raise ImproperlyConfigured(f"Topic {template!r} repeats the parameter {name!r}.")
            converter = get_converter(kind, template)
            self.converters[name] = converter
            regex = r"[^:]+" if kind == "str" else converter.regex
            pattern += re.escape(template[position : match.start()]) + f"(?P<{name}>{regex})"
            position = match.end()
        self.regex = re.compile(pattern + re.escape(template[position:]) + "$")

    def match(self, topic: str) -> dict[str, Any] | None:
        found = self.regex.match(topic)
        if found is None:
            return None
        try:
            return {k: self.converters[k].parse(v) for k, v in found.groupdict().items()}
        except ValueError:
            return None

    def format(self, **params: Any) -> str:
        if set(params) != set(self.converters):
            raise ValueError(
                f"Topic {self.template!r} takes {sorted(self.converters)}, got {sorted(params)}."
            )
        return _PARAM.sub(
            lambda m: self.converters[m.group(1)].render(params[m.group(1)]), self.template
        )


# Where a handler parameter's value comes from.
_SOCKET, _USER, _TOPIC, _PAYLOAD, _EVENT, _REASON, _PARAMETER, _REGISTRY = range(8)
_BY_NAME = {
    "socket": _SOCKET,
    "user": _USER,
    "topic": _TOPIC,
    "payload": _PAYLOAD,
    "event": _EVENT,
    "reason": _REASON,
}


class Handler:
    """A channel callback compiled once: where each parameter comes from."""

    __slots__ = ("decoder", "func", "is_async", "payload_default", "plan")

    def __init__(
        self, func: Callable[..., Any], params: dict[str, Converter], *, kind: str
    ) -> None:
        where = f"{getattr(func, '__qualname__', repr(func))} ({kind} handler)"
        self.func = func
        self.is_async = inspect.iscoroutinefunction(func)
        if kind != "group" and not self.is_async:
            raise ImproperlyConfigured(
                f"{where} must be `async def`: channel handlers run on the event loop."
            )
        try:
            hints = typing.get_type_hints(func)
        except Exception as exc:
            raise HandlerSignatureError(
                f"Cannot resolve the annotations of {where}: {exc}. Import the names used "
                "in annotations at module level."
            ) from exc
        self.plan: list[tuple[str, int]] = []
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
        self.payload_default: Any = inspect.Parameter.empty
        allowed = {"join": {_PAYLOAD}, "event": {_PAYLOAD, _EVENT}, "leave": {_REASON}}
        for parameter in inspect.signature(func).parameters.values():
            name = parameter.name
            annotation = hints.get(name)
            if name in params:
                source = _PARAMETER
            elif annotation is Socket:
                source = _SOCKET
            elif annotation is Channels:
                source = _REGISTRY
            elif name in _BY_NAME:
                source = _BY_NAME[name]
                if source in {_PAYLOAD, _EVENT, _REASON} and source not in allowed.get(kind, ()):
                    raise HandlerSignatureError(f"{where}: a {kind} handler has no {name!r}.")
            else:
                known = ", ".join([*_BY_NAME, *params])
                raise HandlerSignatureError(
                    f"{where}: cannot fill parameter {name!r}; channel handlers take {known}."
                )
            if source == _PAYLOAD:
                if annotation is not None and annotation is not Any:
                    self.decoder = msgspec.json.Decoder(annotation)
                self.payload_default = parameter.default
            self.plan.append((name, source))

    def _payload(self, raw: msgspec.Raw) -> Any:
        if self.payload_default is not inspect.Parameter.empty and bytes(raw) == b"null":
            return self.payload_default
        try:
            return self.decoder.decode(raw)
        except msgspec.ValidationError as exc:
            raise InvalidPayload(f"Invalid payload: {exc}.") from None

    async def call(
        self,
        socket: Socket,
        topic: str,
        params: dict[str, Any],
        raw: msgspec.Raw = protocol.NULL,
        extra: Any = None,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        for name, source in self.plan:
            if source == _PARAMETER:
                kwargs[name] = params[name]
            elif source == _SOCKET:
                kwargs[name] = socket
            elif source == _PAYLOAD:
                kwargs[name] = self._payload(raw)
            elif source == _USER:
                kwargs[name] = socket.user
            elif source == _TOPIC:
                kwargs[name] = topic
            elif source == _REGISTRY:
                kwargs[name] = socket.registry
            else:  # _EVENT, _REASON
                kwargs[name] = extra
        result = self.func(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


class Channel:
    """The topics matching one pattern, and their handlers. Made by ``@app.channel``.

    Args:
        registry: the application's ``Channels``.
        pattern: e.g. ``"board:{board_id:int}"``.
        join: the join handler (authorizes; its return value is the reply payload).
        presence: send joining sockets the topic's presence state.
    """

    def __init__(
        self,
        registry: Channels,
        pattern: str,
        join: Callable[..., Any],
        *,
        presence: bool = False,
    ) -> None:
        self.registry = registry
        self.pattern = TopicPattern(pattern)
        self.join = Handler(join, self.pattern.converters, kind="join")
        self.presence = presence
        self.handlers: dict[str, Handler] = {}
        self.leave: Handler | None = None
        self.group: Handler | None = None
        self.visible: Visibility | None = None
        self.__doc__ = join.__doc__
        self.__name__ = getattr(join, "__name__", "channel")

    def __repr__(self) -> str:
        return f"<Channel {self.pattern.template!r}>"

    def topic(self, **params: Any) -> str:
        """The concrete topic for ``params``: ``board.topic(board_id=7) == "board:7"``."""
        return self.pattern.format(**params)

    def on(self, event: str) -> Callable[[F], F]:
        """Handle incoming ``event`` frames; the return value is the reply payload."""
        check_name(event, "event name")

        def decorator(func: F) -> F:
            if event in self.handlers:
                raise ImproperlyConfigured(f"{self!r} already handles {event!r}.")
            self.handlers[event] = Handler(func, self.pattern.converters, kind="event")
            return func

        return decorator

    def on_leave(self, func: F) -> F:
        """Run when a socket leaves the topic or disconnects (``reason`` says which)."""
        self.leave = Handler(func, self.pattern.converters, kind="leave")
        return func

    def group_by(self, func: F) -> F:
        """The key grouping this channel's sockets by rights: ``visible_to`` runs once
        per key and event. Takes the same parameters as the join handler but payload;
        may be sync."""
        self.group = Handler(func, self.pattern.converters, kind="group")
        return func

    def visible_to(
        self, func: Callable[[Hashable, Broadcast], bool | Awaitable[bool]]
    ) -> Callable[[Hashable, Broadcast], bool | Awaitable[bool]]:
        """Whether sockets of group ``key`` may receive ``broadcast`` (its ``event`` and
        ``data`` are decoded on demand, once per event: treat them as read-only). Applied
        to history replays too."""
        self.visible = func
        return func

    async def call_join(
        self, socket: Socket, topic: str, params: dict[str, Any], raw: msgspec.Raw
    ) -> Any:
        return await self.join.call(socket, topic, params, raw)

    async def call_group(self, socket: Socket, topic: str, params: dict[str, Any]) -> Hashable:
        if self.group is None:
            return None
        key: Hashable = await self.group.call(socket, topic, params)
        return key

    async def call_leave(
        self, socket: Socket, topic: str, params: dict[str, Any], reason: str
    ) -> None:
        if self.leave is not None:
            await self.leave.call(socket, topic, params, extra=reason)


class Channels:
    """The application's real-time registry: channels, the hub, presence, publishing.

    Replace ``check_origin``, ``authenticate`` and ``user_key`` to change how handshakes
    are checked and users identified (see ``tidal.realtime.handshake``), and
    ``refresh_user`` to change how a user is reloaded when their rights change. Set
    ``backend`` before start-up to use a custom ``PubSub``.

    Args:
        app: the application; its settings configure everything (``realtime_*``).
    """

    def __init__(self, app: Tidal) -> None:
        self.app = app
        self.settings: Settings = app.settings
        self.channels: list[Channel] = []
        self._same_origin = same_origin(self.settings.realtime_allowed_origins)
        self.check_origin: CheckOrigin = self._default_check_origin
        self.authenticate: Authenticate = self._default_authenticate
        self.user_key: UserKey = default_user_key
        self.refresh_user: RefreshUser = self._default_refresh_user
        self.backend: PubSub | None = None
        self.sockets: dict[Socket, None] = {}
        self.streams: dict[EventStream, None] = {}
        self.close_timeout = 5.0
        self._hub: Hub | None = None
        self._presence: Presence | None = None
        self._own_backend = False
        self._lock: asyncio.Lock | None = None
        self._routes = False
        self._drained: asyncio.Event | None = None
        self._stop_hooked = False
        self._watching: Callable[..., Any] | None = None

    # -- declaring -------------------------------------------------------------------

    def channel(self, pattern: str, *, presence: bool = False) -> Callable[[F], Channel]:
        """Declare a channel; decorates its join handler and returns the ``Channel``."""

        def decorator(join: F) -> Channel:
            channel = Channel(self, pattern, join, presence=presence)
            if any(c.pattern.template == pattern for c in self.channels):
                raise ImproperlyConfigured(f"Channel {pattern!r} is declared twice.")
            self._add_routes()
            self.channels.append(channel)
            return channel

        return decorator

    def _add_routes(self) -> None:
        """The channel socket, tidal.js and the start-up hook, added with the first
        channel: an application without channels serves neither and starts nothing."""
        if self._routes:
            return
        app = self.app
        app.on_startup(self.start)
        self._hook_stop()

        async def tidal_socket(websocket: WebSocket) -> None:
            await self.serve(websocket)

        app.websocket(self.settings.realtime_path, name="tidal_socket")(tidal_socket)
        if not any(m.prefix == STATIC_URL for m in app.router.mounts):
            from tidal.templates.staticfiles import AppStaticFiles

            static = Path(__file__).resolve().parents[1] / "static"
            app.mount(STATIC_URL, AppStaticFiles([static]), name="tidal_static")
        self._routes = True

    def _hook_stop(self) -> None:
        if not self._stop_hooked:
            self._stop_hooked = True
            self.app.on_shutdown(self.stop)

    def match(self, topic: str) -> tuple[Channel, dict[str, Any]] | None:
        """The channel serving ``topic`` and its converted parameters."""
        for channel in self.channels:
            params = channel.pattern.match(topic)
            if params is not None:
                return channel, params
        return None

    def _default_check_origin(self, websocket: WebSocket) -> bool | Awaitable[bool]:
        """The HTTP origin rules with ``tidal.auth`` (``tidal.realtime.auth``), else
        ``same_origin``."""
        from tidal.realtime.auth import auth_installed, check_session_origin

        if auth_installed(self.app):
            return check_session_origin(websocket)
        return self._same_origin(websocket)

    async def _default_authenticate(self, websocket: WebSocket) -> Any:
        """The session (or bearer token) of ``tidal.auth`` when installed, else
        ``scope["user"]``."""
        from tidal.realtime.auth import auth_installed, session_user

        if auth_installed(self.app):
            return await session_user(websocket)
        return await scope_user(websocket)

    async def _default_refresh_user(self, user: Any) -> Any:
        """The user as the database has it now with ``tidal.auth`` (None: deleted or
        deactivated), else ``user`` unchanged."""
        from tidal.realtime.auth import auth_installed, reload_user

        if auth_installed(self.app):
            return await reload_user(self.app, user)
        return user

    def authenticator(self, func: Authenticate) -> Authenticate:
        """Decorator form of setting ``authenticate``."""
        self.authenticate = func
        return func

    # -- running ---------------------------------------------------------------------

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("Real time is not started; the application starts it.")
        return self._hub

    @property
    def presence(self) -> Presence:
        if self._presence is None:
            raise RuntimeError("Real time is not started; the application starts it.")
        return self._presence

    @property
    def started(self) -> bool:
        return self._hub is not None

    def make_backend(self) -> PubSub:
        """The backend the settings ask for: Redis when ``redis_url`` is set."""
        s = self.settings
        if s.redis_url:
            from tidal.realtime.backends.redis import RedisPubSub

            return RedisPubSub(
                s.redis_url,
                prefix=s.realtime_redis_prefix,
                history=s.realtime_history,
                history_ttl=s.realtime_history_ttl,
                presence_ttl=s.realtime_presence_ttl,
            )
        from tidal.realtime.backends.memory import MemoryPubSub

        return MemoryPubSub(
            history=s.realtime_history,
            history_ttl=s.realtime_history_ttl,
            presence_ttl=s.realtime_presence_ttl,
        )

    async def start(self) -> None:
        """Connect the backend and start the hub; idempotent. Raises when the backend
        (Redis) is unreachable."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._hub is not None:
                return
            self._hook_stop()  # started on demand (a publish): stop with the application
            if self.backend is None:
                self.backend = self.make_backend()
                self._own_backend = True
            s = self.settings
            hub = Hub(
                self.backend, tick=min(s.realtime_presence_ttl / 3, s.realtime_idle_timeout / 2)
            )
            presence = Presence(hub)
            hub.tick_hooks.append(self._sweep_idle)
            await hub.start()
            try:
                await hub.listen(CONTROL_TOPIC, partial(on_control, self))
            except BaseException:
                await hub.stop()
                raise
            self._hub, self._presence = hub, presence
            self._watch_rights()

    async def stop(self) -> None:
        """Tell every client to reconnect (1012 "service restart"), end event streams,
        and disconnect from the backend."""
        hub = self._hub
        if hub is None:
            return
        for socket in list(self.sockets):
            socket.close(1012, "service restart")
        for stream in list(self.streams):
            stream.close()
        if self.sockets or self.streams:
            self._drained = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), self.close_timeout + 1.0)
            self._drained = None
        self._hub = self._presence = None
        self._unwatch_rights()
        await hub.stop()
        if self._own_backend:
            self.backend = None
            self._own_backend = False

    shutdown = stop

    async def serve(self, websocket: WebSocket) -> None:
        """Run one connection of the channel socket (the ``realtime_path`` endpoint)."""
        allowed = self.check_origin(websocket)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            origin = websocket.headers.get("origin")
            raise HTTPError(403, f"WebSocket connections from origin {origin!r} are not allowed.")
        user = await self.authenticate(websocket)
        await self.start()
        if websocket.application_state is WebSocketState.CONNECTING:  # (a hook may accept)
            offered = websocket.scope.get("subprotocols") or []
            await websocket.accept("tidal.v1" if "tidal.v1" in offered else None)
        await Socket(self, websocket, user).run()

    def forget(self, connection: Socket | EventStream) -> None:
        """A socket or stream ended; ``stop`` waits for all of them."""
        if isinstance(connection, Socket):
            self.sockets.pop(connection, None)
        else:
            self.streams.pop(connection, None)
        if self._drained is not None and not self.sockets and not self.streams:
            self._drained.set()

    async def _sweep_idle(self) -> None:
        """Close sockets that sent nothing (not even a heartbeat) for too long."""
        limit = self.settings.realtime_idle_timeout
        now = asyncio.get_running_loop().time()
        for socket in list(self.sockets):
            if now - socket.last_seen > limit:
                socket.close(1001, "idle timeout")

    # -- the API ---------------------------------------------------------------------

    async def publish(self, topic: str, event: str, data: Any = None) -> str:
        """Store ``event`` in ``topic``'s history and deliver it to every subscriber on
        every worker; returns its id. This is what the outbox relay calls.

        .. versionadded:: 0.1
        """
        check_name(topic, "topic")
        check_name(event, "event name")
        if self._hub is None:
            await self.start()
        return await self.hub.publish(topic, event, data)

    broadcast = publish

    async def history(self, topic: str, since: str | None = None) -> History:
        """The kept events of ``topic`` after ``since`` (see ``PubSub.history``)."""
        check_name(topic, "topic")
        if self._hub is None:
            await self.start()
        return await self.hub.backend.history(topic, since)

    async def who(self, topic: str) -> dict[str, list[dict[str, Any]]]:
        """Presence in ``topic`` across workers: ``{key: [meta, ...]}``."""
        check_name(topic, "topic")
        if self._hub is None:
            await self.start()
        return await self.presence.list(topic)

    async def disconnect_user(
        self, user_key: str, *, code: int = 1008, reason: str = "signed out"
    ) -> None:
        """Close every socket of ``user_key`` on every worker (on logout, say)."""
        await self._control(
            {"op": "disconnect", "users": [user_key], "code": code, "reason": reason}
        )

    async def reauthorize_user(self, user_key: str) -> None:
        """Run the join handlers of every topic ``user_key`` joined again, on every worker,
        with the user reloaded (``refresh_user``): topics they now refuse are left (the
        client gets ``{"type": "left", ...}``), and a user who is gone or deactivated is
        disconnected (1008). Call it when a user's rights change; with ``tidal.auth`` it
        is called for you when their permissions, groups or flags change."""
        await self.reauthorize_users([user_key])

    async def reauthorize_users(self, user_keys: Iterable[str]) -> None:
        """``reauthorize_user`` for several users, in one message to the workers."""
        keys = sorted(set(user_keys))
        if keys:
            await self._control({"op": "reauthorize", "users": keys})

    async def reauthorize_all(self) -> None:
        """``reauthorize_user`` for every authenticated socket of every worker (when a
        group or a permission is deleted, say, and who held it is no longer known)."""
        await self._control({"op": "reauthorize", "users": None})

    async def revoke_credential(self, credential: str, *, reason: str = "token revoked") -> None:
        """Close, on every worker, the sockets ``credential`` authenticated (1008); see
        ``tidal.realtime.handshake.CREDENTIAL_KEY``. ``tidal.auth`` calls it when an API
        token is revoked or deleted."""
        await self._control({"op": "revoke", "credential": credential, "reason": reason})

    async def expire_credential(self, credential: str, timestamp: float | None) -> None:
        """Move the expiry of the sockets ``credential`` authenticated, on every worker,
        to ``timestamp`` (POSIX seconds; past: close them now; None: never)."""
        await self._control({"op": "expire", "credential": credential, "at": timestamp})

    async def _control(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every worker (``tidal.realtime.control``)."""
        if self._hub is None:
            await self.start()
        await self.hub.backend.publish_ephemeral(CONTROL_TOPIC, protocol.encode(message))

    def _watch_rights(self) -> None:
        """With ``tidal.auth``: follow committed changes of users, groups, permissions and
        API tokens (``tidal.realtime.auth.rights_changed``)."""
        from tidal.realtime.auth import auth_installed, watch_rights

        if self._watching is None and auth_installed(self.app):
            self._watching = watch_rights(self)

    def _unwatch_rights(self) -> None:
        listener, self._watching = self._watching, None
        if listener is not None:
            from tidal.db.lifecycle import database

            database(self.app).off_commit(listener)

    def sse(
        self,
        request: Request,
        topic: str,
        *,
        group: Hashable = None,
        visible: Visibility | None = None,
    ) -> EventStream:
        """A Server-Sent Events response streaming ``topic``, resuming after the
        ``Last-Event-ID`` header (or ``?last_event_id=``). Authorize before returning it."""
        from tidal.realtime.sse import EventStream

        check_name(topic, "topic")
        found = self.match(topic)
        if visible is None and found is not None:
            visible = found[0].visible
        last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        return EventStream(self, topic, last_event_id=last, group=group, visible=visible)


def install(app: Tidal) -> Channels:
    """Give ``app`` real time: a ``Channels`` registry, injected into handlers annotated
    ``Channels``, started and stopped with the app. Idempotent; returns the registry.

    Nothing is served, started or connected until a channel is declared (then the channel
    socket and tidal.js are routed, and the backend connects at start-up, so a wrong
    ``TIDAL_REDIS_URL`` fails there) or something is published (it connects then).
    """
    existing = app.state.get(STATE_KEY)
    if isinstance(existing, Channels):
        return existing
    registry = Channels(app)
    app.state[STATE_KEY] = registry

    async def provide_channels() -> Channels:
        return registry

    app.provide(Channels, provide_channels)
    quiet_client_errors()
    if not hasattr(type(app), "channel"):
        vars(app)["channel"] = registry.channel
    return registry


def channels_of(app: Tidal) -> Channels:
    """The registry ``install`` gave ``app`` (installing it if needed)."""
    return install(app)


__all__ = [
    "CONTROL_TOPIC",
    "Channel",
    "Channels",
    "Handler",
    "TopicPattern",
    "channels_of",
    "check_name",
    "install",
]
