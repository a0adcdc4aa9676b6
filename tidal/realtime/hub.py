"""The hub: one per worker process, it fans events out to the local subscribers.

Each topic some local socket joined is subscribed once at the backend. When an event
arrives, the hub builds its frame once (``Broadcast``) and offers the same object to every
subscriber's bounded queue with a plain call, no ``await`` per socket. Subscribers are
grouped by an application-chosen key (the rights they share); a topic's visibility check,
if any, runs once per group per event, never once per socket.

A subscriber joining with a resume id is *pending* while its history is read: live events
arriving meanwhile are buffered for it, then it receives history, then the buffer minus
duplicates, then goes live; it misses nothing and sees nothing twice.

A subscriber whose queue is full is detached from every topic and told to close; the
others keep receiving.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Protocol

import msgspec

from tidal.realtime import protocol
from tidal.realtime.backends.base import EventId, History, PubSub, parse_id

logger = logging.getLogger("tidal.realtime")

Visibility = Callable[[Hashable, "Broadcast"], bool | Awaitable[bool]]
TickHook = Callable[[], Awaitable[None]]


_UNSET: Any = object()


class Broadcast:
    """One event as delivered on this worker, shared by all its subscribers.

    ``message`` is the ready-to-send ASGI message; ``event`` and ``data`` are decoded on
    first use (by a visibility check); ``sse()`` is the Server-Sent Events form.
    """

    __slots__ = ("_data", "_sse", "_stored", "id", "message", "payload", "topic")

    def __init__(self, topic: str, event_id: str, payload: bytes, prefix: bytes) -> None:
        self.topic = topic
        self.id = event_id
        self.payload = payload
        self.message = protocol.text_message(protocol.event_frame(prefix, event_id, payload))
        self._stored: protocol.StoredEvent | None = None
        self._data: Any = _UNSET
        self._sse: bytes | None = None

    def _decode(self) -> protocol.StoredEvent:
        if self._stored is None:
            self._stored = protocol.decode_stored(self.payload)
        return self._stored

    @property
    def event(self) -> str:
        return self._decode().event

    @property
    def data(self) -> Any:
        if self._data is _UNSET:
            self._data = msgspec.json.decode(self._decode().data)
        return self._data

    def sse(self) -> bytes:
        if self._sse is None:
            stored = self._decode()
            self._sse = (
                b"id: "
                + self.id.encode()
                + b"\nevent: "
                + stored.event.encode()
                + b"\ndata: "
                + bytes(stored.data)
                + b"\n\n"
            )
        return self._sse

    def __repr__(self) -> str:
        return f"<Broadcast {self.topic} {self.id}>"


class Subscriber(Protocol):
    """What the hub delivers to: a WebSocket connection or a Server-Sent Events stream."""

    def deliver(self, broadcast: Broadcast) -> bool:
        """Queue a broadcast; False when the queue is full (the hub then disconnects)."""

    def deliver_frame(self, message: dict[str, Any]) -> bool:
        """Queue an ephemeral frame (presence, gone); False when the queue is full."""

    def overflowed(self) -> None:
        """The subscriber fell behind and was detached from every topic: close it."""

    def topic_names(self) -> Iterable[str]:
        """The topics the subscriber joined (or is joining)."""


class _Pending:
    __slots__ = ("buffer", "group", "subscriber")

    def __init__(self, subscriber: Subscriber, group: Hashable) -> None:
        self.subscriber = subscriber
        self.group = group
        self.buffer: list[Broadcast | dict[str, Any]] = []


class Topic:
    """A topic some local subscriber joined: its members by group, and those joining."""

    __slots__ = ("groups", "name", "pending", "prefix", "ready", "visible")

    def __init__(self, name: str, visible: Visibility | None) -> None:
        self.name = name
        self.visible = visible
        self.prefix = protocol.event_prefix(name)
        self.groups: dict[Hashable, dict[Subscriber, None]] = {}
        self.pending: list[_Pending] = []
        self.ready: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return sum(len(m) for m in self.groups.values()) + len(self.pending)

    async def allows(self, group: Hashable, broadcast: Broadcast) -> bool:
        if self.visible is None:
            return True
        result = self.visible(group, broadcast)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)


class Attachment:
    """A subscriber half-way into a topic; finish with ``Hub.activate``."""

    __slots__ = ("history", "pending", "since", "topic")

    def __init__(self, topic: Topic, pending: _Pending, history: History, since: str | None):
        self.topic = topic
        self.pending = pending
        self.history = history
        self.since = since


class Hub:
    """Local fan-out for one worker over a ``PubSub`` backend.

    Args:
        backend: the pub/sub backend (memory or Redis).
        tick: seconds between heartbeats (presence liveness, idle sweeps).
    """

    def __init__(self, backend: PubSub, *, tick: float = 10.0) -> None:
        self.backend = backend
        self.tick = tick
        self.topics: dict[str, Topic] = {}
        self.tick_hooks: list[TickHook] = []
        self.gap_hooks: list[Callable[[str], Awaitable[None]]] = []
        self.control: dict[str, Callable[[bytes], Awaitable[None]]] = {}
        self.started = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    # -- life ------------------------------------------------------------------------

    async def start(self) -> None:
        if self.started:
            return
        await self.backend.start(self)
        self.started = True
        self._ticker = asyncio.get_running_loop().create_task(
            self._tick_forever(), name="tidal-realtime-tick"
        )

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.topics.clear()
        await self.backend.stop()

    def spawn(self, coroutine: Awaitable[Any], name: str) -> None:
        """Run ``coroutine`` in the background, logging (not losing) its errors."""

        async def run() -> None:
            try:
                await coroutine
            except Exception:
                logger.exception("Realtime background task %s failed", name)

        task = asyncio.get_running_loop().create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            for hook in list(self.tick_hooks):
                try:
                    await hook()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("Realtime heartbeat hook %r failed", hook)

    # -- publishing ------------------------------------------------------------------

    async def listen(self, topic: str, handler: Callable[[bytes], Awaitable[None]]) -> None:
        """Receive the ephemeral frames of an internal ``topic`` (control messages)."""
        self.control[topic] = handler
        await self.backend.subscribe(topic)

    async def publish(self, topic: str, event: str, data: Any) -> str:
        """Store and deliver ``event`` with ``data`` to everyone on ``topic``; its id."""
        return await self.backend.publish(topic, protocol.encode_payload(event, data))

    # -- membership ------------------------------------------------------------------

    async def _topic(self, name: str, visible: Visibility | None) -> Topic:
        topic = self.topics.get(name)
        if topic is None:
            topic = self.topics[name] = Topic(name, visible)
            topic.ready = asyncio.ensure_future(self.backend.subscribe(name))
        assert topic.ready is not None
        try:
            await asyncio.shield(topic.ready)
        except Exception:
            if self.topics.get(name) is topic and not topic.groups:
                del self.topics[name]
            raise
        return topic

    async def attach(
        self,
        subscriber: Subscriber,
        name: str,
        *,
        group: Hashable = None,
        since: str | None = None,
        visible: Visibility | None = None,
    ) -> Attachment:
        """Subscribe ``subscriber`` to ``name`` and read what it missed since ``since``.
        Until ``activate``, live events are buffered for it."""
        if since is not None:
            parse_id(since)  # ValueError before anything changes
        topic = await self._topic(name, visible)
        pending = _Pending(subscriber, group)
        topic.pending.append(pending)
        try:
            history = await self.backend.history(name, since)
        except BaseException:
            self._remove_pending(topic, pending)
            raise
        return Attachment(topic, pending, history, since)

    async def activate(self, attachment: Attachment, first: Iterable[dict[str, Any]] = ()) -> None:
        """Send ``first`` (the join reply, the presence state), then the missed events,
        then what arrived meanwhile, and make the subscriber a live member."""
        topic, pending = attachment.topic, attachment.pending
        subscriber, group = pending.subscriber, pending.group
        ok = True
        for message in first:
            ok = subscriber.deliver_frame(message) and ok
        history = attachment.history
        cursor: EventId = parse_id(attachment.since or history.last_id)
        if history.gone:
            cursor = parse_id(history.last_id)
        for event_id, payload in history.events:
            broadcast = Broadcast(topic.name, event_id, payload, topic.prefix)
            cursor = parse_id(event_id)
            if await topic.allows(group, broadcast):
                ok = subscriber.deliver(broadcast) and ok
        while pending.buffer:
            items, pending.buffer = pending.buffer, []
            for item in items:
                if isinstance(item, Broadcast):
                    key = parse_id(item.id)
                    if key <= cursor:
                        continue
                    cursor = key
                    if await topic.allows(group, item):
                        ok = subscriber.deliver(item) and ok
                else:
                    ok = subscriber.deliver_frame(item) and ok
        if pending not in topic.pending or self.topics.get(topic.name) is not topic:
            return  # detached while joining
        topic.pending.remove(pending)
        topic.groups.setdefault(group, {})[subscriber] = None
        if not ok:
            self.overflow(subscriber)

    def abort(self, attachment: Attachment) -> None:
        """Give up a join between ``attach`` and ``activate``."""
        self._remove_pending(attachment.topic, attachment.pending)

    def _remove_pending(self, topic: Topic, pending: _Pending, *, release: bool = True) -> None:
        with contextlib.suppress(ValueError):
            topic.pending.remove(pending)
        if release:
            self._release(topic)

    def detach(self, subscriber: Subscriber, name: str) -> None:
        """Remove ``subscriber`` from topic ``name`` (no-op if it is not there)."""
        topic = self.topics.get(name)
        if topic is None:
            return
        for group, members in list(topic.groups.items()):
            if subscriber in members:
                del members[subscriber]
                if not members:
                    del topic.groups[group]
                break
        else:
            for pending in topic.pending:
                if pending.subscriber is subscriber:
                    topic.pending.remove(pending)
                    break
        self._release(topic)

    def regroup(self, subscriber: Subscriber, name: str, group: Hashable) -> None:
        """Move a member of topic ``name`` to ``group`` (its rights changed)."""
        topic = self.topics.get(name)
        if topic is None:
            return
        for key, members in list(topic.groups.items()):
            if subscriber in members:
                if key != group:
                    del members[subscriber]
                    if not members:
                        del topic.groups[key]
                    topic.groups.setdefault(group, {})[subscriber] = None
                return

    def _release(self, topic: Topic) -> None:
        if topic.groups or topic.pending or self.topics.get(topic.name) is not topic:
            return
        del self.topics[topic.name]
        if self.started:
            self.spawn(self.backend.unsubscribe(topic.name), f"unsubscribe {topic.name}")

    def overflow(self, subscriber: Subscriber) -> None:
        """Detach a subscriber that fell behind from every topic, and let it close."""
        for name in list(subscriber.topic_names()):
            self.detach(subscriber, name)
        subscriber.overflowed()

    def members(self, name: str) -> int:
        topic = self.topics.get(name)
        return 0 if topic is None else len(topic)

    # -- delivery (the backend calls these) ------------------------------------------

    async def on_message(self, topic_name: str, event_id: str | None, payload: bytes) -> None:
        topic = self.topics.get(topic_name)
        if topic is None:
            handler = self.control.get(topic_name)
            if handler is not None and event_id is None:
                await handler(payload)
            return
        if event_id is None:
            self.send_frame(topic, protocol.text_message(payload))
            return
        broadcast = Broadcast(topic_name, event_id, payload, topic.prefix)
        for pending in topic.pending:
            pending.buffer.append(broadcast)
        late: list[Subscriber] = []
        if topic.visible is None:
            for members in topic.groups.values():
                for subscriber in members:
                    if not subscriber.deliver(broadcast):
                        late.append(subscriber)
        else:
            # Decide per group first (the check may await), then fan out without awaiting
            # to the members as they were when the event arrived.
            snapshot = [(g, list(m)) for g, m in topic.groups.items()]
            for group, members_now in snapshot:
                if await topic.allows(group, broadcast):
                    for subscriber in members_now:
                        if not subscriber.deliver(broadcast):
                            late.append(subscriber)
        for subscriber in late:
            self.overflow(subscriber)

    def send_frame(self, topic: Topic, message: dict[str, Any]) -> None:
        """An ephemeral frame to every member of ``topic`` (and those joining)."""
        for pending in topic.pending:
            pending.buffer.append(message)
        late = [
            subscriber
            for members in topic.groups.values()
            for subscriber in members
            if not subscriber.deliver_frame(message)
        ]
        for subscriber in late:
            self.overflow(subscriber)

    async def on_gap(self, topic_name: str) -> None:
        topic = self.topics.get(topic_name)
        if topic is None:
            return
        found = await self.backend.history(topic_name, None)
        logger.warning(
            "Realtime events of %r were lost while Redis was unreachable; clients reload.",
            topic_name,
        )
        self.send_frame(
            topic, protocol.text_message(protocol.gone_frame(topic_name, found.last_id))
        )
        for hook in self.gap_hooks:
            await hook(topic_name)


__all__ = ["Attachment", "Broadcast", "Hub", "Subscriber", "Topic", "Visibility"]
