"""One client connection on the channel socket: a browser tab carrying many joins.

Two tasks per connection: the reader (the ASGI handler itself) decodes frames and runs
channel handlers one at a time, in order; the writer drains the bounded ``SendQueue`` that
replies, pushes and broadcasts are put on. When that queue is empty a frame is written at
once instead, without waking the writer (``Socket.offer``): with 10,000 sockets this halves
a broadcast's delivery time. Closing is always the writer's last act: it sends
what is queued (or nothing, for an overflow), then the close frame, then wakes the reader.
If the client stopped reading, the writer never finishes; after ``close_timeout`` both
tasks are cancelled, so a stuck client cannot hold the connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Coroutine, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from tidal.http.errors import HTTPError
from tidal.realtime import protocol
from tidal.realtime.handshake import CREDENTIAL_KEY, EXPIRES_KEY
from tidal.realtime.hub import Broadcast
from tidal.realtime.queue import QueueClosed, SendQueue

if TYPE_CHECKING:
    from tidal.realtime.channels import Channel, Channels

logger = logging.getLogger("tidal.realtime")
_ids = itertools.count(1)
_SAME: Any = object()
wall_clock = time.time  # what credential expiry times are compared with (tests set it)


class Refused(Exception):
    """Raise from a join or event handler to refuse; ``reason`` is sent to the client as
    ``{"status": "error", "payload": {"reason": ...}}``. The socket stays open."""

    def __init__(self, reason: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidPayload(Exception):
    """The payload of a frame did not match the handler's annotation."""


class _Unfinished:
    """A send that suspended when ``Socket.offer`` stepped it; the writer completes it."""

    __slots__ = ("step", "waiting_on")

    def __init__(self, step: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.step = step
        self.waiting_on = waiting_on

    async def finish(self) -> None:
        """Drive the coroutine as a task would: wait for what it waits on, resume it."""
        step, waiting_on = self.step, self.waiting_on
        try:
            while True:
                if isinstance(waiting_on, asyncio.Future):
                    waiting_on._asyncio_future_blocking = False
                    await asyncio.wait((waiting_on,))
                else:
                    await asyncio.sleep(0)  # a bare yield
                waiting_on = step.send(None)
        except StopIteration:
            return
        except BaseException:
            step.close()
            raise


class Join:
    """One topic a socket joined (or is joining)."""

    __slots__ = ("channel", "joined", "meta", "params", "payload", "presence", "track_request")

    def __init__(self, channel: Channel, params: dict[str, Any], payload: msgspec.Raw) -> None:
        self.channel = channel
        self.params = params
        self.payload = payload  # kept to authorize again (``Channels.reauthorize_user``)
        self.joined = False
        self.presence: tuple[str, str] | None = None  # (ref, key) once tracked
        self.meta: dict[str, Any] | None = None  # what was tracked
        self.track_request: tuple[str | None, dict[str, Any]] | None = None


class Socket:
    """A connected client, passed to channel handlers as ``socket``.

    Attributes:
        id: unique within this worker.
        user: what the ``authenticate`` hook returned (None: anonymous).
        user_key: the user as a string (presence key, ``disconnect_user``), or None.
        credential: what authenticated the socket (``"token:12"``), when the
            ``authenticate`` hook said (``CREDENTIAL_KEY``); ``revoke_credential`` closes it.
        websocket: the underlying Starlette ``WebSocket`` (headers, cookies, scope).
        assigns: a dict for the application's per-connection data.
        joins: topic -> ``Join`` for every topic joined.
    """

    __slots__ = (
        "_cleaning",
        "_exiting",
        "_expiry",
        "_reader",
        "_receiving",
        "_stamp",
        "_tokens",
        "_watchdog",
        "_writer",
        "assigns",
        "close_code",
        "close_reason",
        "credential",
        "id",
        "joins",
        "last_seen",
        "queue",
        "registry",
        "user",
        "user_key",
        "websocket",
    )

    def __init__(self, registry: Channels, websocket: WebSocket, user: Any) -> None:
        settings = registry.settings
        self.registry = registry
        self.websocket = websocket
        self.user = user
        self.user_key = registry.user_key(user)
        scope = websocket.scope
        credential = scope.get(CREDENTIAL_KEY)
        self.credential: str | None = None if credential is None else str(credential)
        self.id = f"{next(_ids)}"
        self.assigns: dict[str, Any] = {}
        self.joins: dict[str, Join] = {}
        self.queue: SendQueue[dict[str, Any] | _Unfinished] = SendQueue(
            settings.realtime_send_queue
        )
        self.close_code: int | None = None
        self.close_reason = ""
        loop = asyncio.get_running_loop()
        self.last_seen = loop.time()
        self._tokens = float(settings.realtime_burst)
        self._stamp = self.last_seen
        self._reader: asyncio.Task[Any] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self.expire_at(scope.get(EXPIRES_KEY))
        self._receiving = False
        self._exiting = False
        self._cleaning = False

    def __repr__(self) -> str:
        return f"<Socket {self.id} user={self.user_key!r} topics={list(self.joins)}>"

    # -- what the hub calls ----------------------------------------------------------

    def deliver(self, broadcast: Broadcast) -> bool:
        return self.offer(broadcast.message)

    def deliver_frame(self, message: dict[str, Any]) -> bool:
        return self.offer(message)

    def offer(self, message: dict[str, Any]) -> bool:
        """Send ``message`` after those queued; False when the queue is full.

        When nothing is queued and the writer is parked, the message is written at once:
        the ASGI ``send`` of uvicorn's protocols does not suspend unless the transport is
        paused, so it is stepped here like a plain call and most deliveries cost no task
        switch. If it does suspend, the unfinished send goes first in the queue and the
        writer completes it, so order is kept and a slow client still fills its queue.
        """
        queue = self.queue
        if not queue.parked():
            return queue.put(message) or queue.closed
        step = self.websocket.send(message)
        try:
            waiting_on = step.send(None)
        except StopIteration:
            return True
        except Exception:  # the client is gone: end the writer, the reader follows
            queue.close(discard=True)
            return True
        queue.put_unbounded(_Unfinished(step, waiting_on))
        return True

    def overflowed(self) -> None:
        logger.warning(
            "Realtime socket %s (user %s) did not read fast enough: %d frames waiting; "
            "closing it with 1013.",
            self.id,
            self.user_key,
            len(self.queue),
        )
        self.close(1013, "send queue overflow", flush=False)

    def topic_names(self) -> Iterable[str]:
        return self.joins.keys()

    # -- the API for channel handlers ------------------------------------------------

    def push(self, topic: str, event: str, data: Any = None) -> None:
        """Send an event to this socket only (not stored in history, no id)."""
        self._send(protocol.push_frame(topic, event, data))

    async def broadcast(self, topic: str, event: str, data: Any = None) -> str:
        """Publish to everyone on ``topic`` (this socket included); returns the event id."""
        return await self.registry.publish(topic, event, data)

    async def track(
        self, topic: str, meta: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> None:
        """Show this connection in ``topic``'s presence under ``key`` (default: the user
        key, else the socket id) with ``meta``. Called from the join handler, it takes
        effect once the join completes; calling it again updates the metadata."""
        join = self.joins.get(topic)
        if join is None:
            raise RuntimeError(f"Socket {self.id} has not joined {topic!r}; join before track.")
        meta = dict(meta or {})
        if not join.joined:
            join.track_request = (key, meta)
            return
        presence = self.registry.presence
        key = key or (join.presence[1] if join.presence else None) or self.user_key or self.id
        if join.presence is not None and join.presence[1] == key and join.meta == meta:
            return  # the same again (a join handler run again by ``reauthorize``)
        join.meta = meta
        if join.presence is None:
            ref = presence.new_ref(self.id)
            join.presence = (ref, key)
            await presence.track(topic, ref, key, meta)
        else:
            ref = join.presence[0]
            join.presence = (ref, key)
            await presence.update(topic, ref, key, meta)

    async def untrack(self, topic: str) -> None:
        """Remove this connection from ``topic``'s presence."""
        join = self.joins.get(topic)
        if join is None or join.presence is None:
            return
        ref, join.presence, join.meta = join.presence[0], None, None
        await self.registry.presence.untrack(topic, ref)

    def close(self, code: int = 1000, reason: str = "", *, flush: bool = True) -> None:
        """Close the connection: queued frames are sent first unless ``flush`` is False."""
        if self.close_code is not None:
            return
        self.close_code = code
        self.close_reason = reason
        self.queue.close(discard=not flush)
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_later(self.registry.close_timeout, self._force_exit)

    def expire_at(self, timestamp: float | None) -> None:
        """Close with 1008 "token expired" at ``timestamp`` (POSIX seconds; at once if it
        is past); None: never. The authentication's expiry, set at the handshake."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if timestamp is None or self.close_code is not None:
            return
        delay = float(timestamp) - wall_clock()
        if delay <= 0:
            self.close(1008, "token expired")
        else:
            loop = asyncio.get_running_loop()
            self._expiry = loop.call_later(delay, self.close, 1008, "token expired")

    # -- running ---------------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        """Queue a frame for this socket (replies, errors, pushes)."""
        if not self.offer(protocol.text_message(frame)):
            self.registry.hub.overflow(self)

    async def run(self) -> None:
        """Serve the connection until it closes; called once, after accept."""
        loop = asyncio.get_running_loop()
        self._reader = asyncio.current_task()
        self._writer = loop.create_task(self._write(), name=f"tidal-socket-writer-{self.id}")
        registry = self.registry
        registry.sockets[self] = None
        receive = self.websocket.receive
        limit = registry.settings.realtime_max_message
        try:
            while not self._exiting:
                self._receiving = True
                try:
                    message = await receive()
                finally:
                    self._receiving = False
                kind = message["type"]
                if kind == "websocket.disconnect":
                    break
                if kind != "websocket.receive" or self.close_code is not None:
                    continue
                text = message.get("text")
                if text is None:
                    self.close(1003, "binary frames are not supported")
                    break
                now = loop.time()
                self.last_seen = now
                if not self._allow(now):
                    logger.warning("Realtime socket %s exceeded the message rate.", self.id)
                    self.close(1008, "rate limit exceeded")
                    break
                if len(text) > limit:
                    self.close(1009, f"message larger than {limit} bytes")
                    break
                await self.handle(text)
                if len(self.queue):
                    # Let the writer send the replies before the next frame is read, so a
                    # burst of requests is not mistaken for a client that does not read.
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._exiting or task is None:
                raise
            task.uncancel()
        except WebSocketDisconnect:
            pass
        finally:
            await self._cleanup()

    def _allow(self, now: float) -> bool:
        """Token bucket: ``realtime_rate`` messages per second, bursts of
        ``realtime_burst``."""
        settings = self.registry.settings
        tokens = min(
            float(settings.realtime_burst),
            self._tokens + (now - self._stamp) * settings.realtime_rate,
        )
        self._stamp = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True

    async def _write(self) -> None:
        send = self.websocket.send
        queue = self.queue
        try:
            while True:
                try:
                    batch = await queue.take()
                except QueueClosed:
                    break
                for message in batch:
                    if isinstance(message, _Unfinished):
                        await message.finish()
                    else:
                        await send(message)
            if self.close_code is not None:
                reason = self.close_reason.encode()[:123].decode(errors="ignore")
                await send({"type": "websocket.close", "code": self.close_code, "reason": reason})
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass  # the client is gone; the reader sees the disconnect
        finally:
            self._stop_reader()

    def _stop_reader(self) -> None:
        self._exiting = True
        reader = self._reader
        if self._receiving and reader is not None and not reader.done():
            reader.cancel()

    def _force_exit(self) -> None:
        """The close did not complete in time (the client stopped reading)."""
        writer = self._writer
        if writer is not None and not writer.done():
            writer.cancel()
        self._exiting = True
        reader = self._reader
        if not self._cleaning and reader is not None and not reader.done():
            reader.cancel()

    async def _cleanup(self) -> None:
        self._cleaning = True
        registry = self.registry
        registry.forget(self)
        for topic in list(self.joins):
            await self._leave(topic, reason="disconnect")
        if self.close_code is None:
            self.queue.close(discard=True)
        writer = self._writer
        if writer is not None and not writer.done():
            try:
                await asyncio.wait_for(asyncio.shield(writer), registry.close_timeout)
            except (TimeoutError, asyncio.CancelledError):
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
        if self._watchdog is not None:
            self._watchdog.cancel()
        self.expire_at(None)

    # -- frames ----------------------------------------------------------------------

    async def handle(self, text: str) -> None:
        """Act on one frame from the client."""
        try:
            frame = protocol.decode_frame(text)
        except msgspec.ValidationError as exc:
            self._error(None, None, "bad-frame", f"Invalid frame: {exc}.")
            return
        except msgspec.DecodeError as exc:
            self._error(None, None, "bad-json", f"The frame is not valid JSON: {exc}.")
            return
        kind = frame.type
        if kind == "heartbeat":
            self._send(protocol.heartbeat_frame(frame.ref))
        elif kind == "event":
            await self._event(frame)
        elif kind == "join":
            await self._join(frame)
        elif kind == "leave":
            await self._leave_frame(frame)
        elif kind == "auth":
            pass  # credentials for the authenticate hook, which read them (or needs none)
        else:
            self._error(
                frame.ref,
                frame.topic,
                "unknown-type",
                f"Unknown frame type {kind!r}; expected join, leave, event or heartbeat.",
            )

    def _error(self, ref: protocol.Ref, topic: str | None, code: str, message: str) -> None:
        self._send(protocol.error_frame(ref, topic, code, message))

    def _reply(
        self, ref: protocol.Ref, topic: str | None, status: str, payload: Any = None
    ) -> None:
        if ref is not None:
            self._send(protocol.encode(protocol.Reply(ref, topic, status, payload)))

    async def _join(self, frame: protocol.ClientFrame) -> None:
        topic, ref = frame.topic, frame.ref
        if not topic:
            self._error(ref, topic, "bad-frame", "A join frame needs a topic.")
            return
        if topic in self.joins:
            self._error(ref, topic, "already-joined", f"Already joined {topic!r}.")
            return
        found = self.registry.match(topic)
        if found is None:
            self._error(ref, topic, "unknown-topic", f"No channel matches {topic!r}.")
            return
        channel, params = found
        join = self.joins[topic] = Join(channel, params, frame.payload)
        try:
            answer = await channel.call_join(self, topic, params, frame.payload)
            group: Hashable = await channel.call_group(self, topic, params)
            attachment = await self.registry.hub.attach(
                self, topic, group=group, since=frame.since, visible=channel.visible
            )
        except BaseException as exc:
            self.joins.pop(topic, None)
            if not isinstance(exc, Exception):
                raise
            self._refusal(ref, topic, exc)
            return
        history = attachment.history
        cursor = history.last_id if history.gone or frame.since is None else frame.since
        reply = protocol.Reply(ref, topic, "ok", answer, id=cursor, gone=history.gone)
        first = [protocol.text_message(protocol.encode(reply))]
        try:
            if channel.presence:
                from tidal.realtime.presence import state_frame

                state = await self.registry.presence.list(topic)
                first.append(protocol.text_message(state_frame(topic, state)))
        except Exception as exc:
            self.registry.hub.abort(attachment)
            self.joins.pop(topic, None)
            self._refusal(ref, topic, exc)
            return
        await self.registry.hub.activate(attachment, first)
        join.joined = True
        if join.track_request is not None:
            key, meta = join.track_request
            join.track_request = None
            await self.track(topic, meta, key=key)

    def _refusal(self, ref: protocol.Ref, topic: str, exc: Exception) -> None:
        """Tell the client why a join or event failed."""
        if isinstance(exc, Refused):
            self._reply_or_error(ref, topic, exc.reason)
        elif isinstance(exc, HTTPError):
            self._reply_or_error(ref, topic, exc.detail)
        elif isinstance(exc, InvalidPayload):
            self._error(ref, topic, "invalid-payload", str(exc))
        elif isinstance(exc, ValueError) and "event id" in str(exc):
            self._error(ref, topic, "invalid-id", str(exc))
        elif isinstance(exc, self.registry.hub.backend.unavailable):
            logger.warning("Realtime backend unavailable for %r: %s", topic, exc)
            self._error(ref, topic, "unavailable", "Real-time service unavailable; retry.")
        else:
            logger.error("Unhandled error in channel handler for %r", topic, exc_info=exc)
            self._error(ref, topic, "server-error", "The server failed to handle this frame.")

    def _reply_or_error(self, ref: protocol.Ref, topic: str, reason: str) -> None:
        if ref is None:
            self._error(ref, topic, "refused", reason)
        else:
            self._reply(ref, topic, "error", {"reason": reason})

    async def _event(self, frame: protocol.ClientFrame) -> None:
        topic, ref = frame.topic, frame.ref
        join = self.joins.get(topic) if topic else None
        if topic is None or join is None or not join.joined:
            self._error(ref, topic, "not-joined", f"Join {topic!r} before sending events to it.")
            return
        name = frame.event
        handler = join.channel.handlers.get(name) if name else None
        if handler is None:
            known = ", ".join(sorted(join.channel.handlers)) or "none"
            self._error(
                ref, topic, "unknown-event", f"No handler for event {name!r} (known: {known})."
            )
            return
        try:
            answer = await handler.call(self, topic, join.params, frame.payload, name)
        except Exception as exc:
            self._refusal(ref, topic, exc)
            return
        self._reply(ref, topic, "ok", answer)

    async def reauthorize(self, user: Any = _SAME) -> None:
        """The user's rights changed: take ``user`` (reloaded by ``Channels``), run each
        joined topic's join handler again, and recompute its visibility group. A topic
        the handler now refuses (or that cannot be checked) is left, and the client gets
        ``{"type": "left", "topic": ..., "reason": ...}``; the socket stays open."""
        if user is not _SAME:
            self.user = user
        for topic, join in list(self.joins.items()):
            if not join.joined:
                continue  # a join in progress runs its handler with the new user
            channel = join.channel
            try:
                await channel.call_join(self, topic, join.params, join.payload)
                group = await channel.call_group(self, topic, join.params)
            except (Refused, HTTPError) as exc:
                reason = exc.reason if isinstance(exc, Refused) else exc.detail
            except Exception:
                logger.exception("Error while authorizing %s again for %r", self, topic)
                reason = "Your access could not be checked; join again."
            else:
                if self.joins.get(topic) is join:
                    self.registry.hub.regroup(self, topic, group)
                continue
            if self.joins.get(topic) is join:  # (not left meanwhile)
                await self._leave(topic, reason="revoked")
                self._send(protocol.encode({"type": "left", "topic": topic, "reason": reason}))

    async def _leave_frame(self, frame: protocol.ClientFrame) -> None:
        topic, ref = frame.topic, frame.ref
        if topic is None or topic not in self.joins:
            self._error(ref, topic, "not-joined", f"Not joined to {topic!r}.")
            return
        await self._leave(topic, reason="leave")
        self._reply(ref, topic, "ok")

    async def _leave(self, topic: str, *, reason: str) -> None:
        join = self.joins.pop(topic, None)
        if join is None:
            return
        self.registry.hub.detach(self, topic)
        try:
            if join.presence is not None:
                await self.registry.presence.untrack(topic, join.presence[0])
                join.presence = None
            if join.joined:
                await join.channel.call_leave(self, topic, join.params, reason)
        except Exception:
            logger.exception("Error while %s left %r", self, topic)


__all__ = ["InvalidPayload", "Join", "Refused", "Socket"]
