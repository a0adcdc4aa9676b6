"""The in-process backend: history, delivery and presence in this process's memory.

The default when ``TIDAL_REDIS_URL`` is unset. Several ``MemoryPubSub`` objects may share one
``MemoryBroker`` to stand for several workers in one process (the tests do this to exercise
cross-worker delivery and presence expiry without Redis); by default each has its own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from tidal.realtime.backends.base import (
    ZERO,
    EventId,
    History,
    Listener,
    PubSub,
    format_id,
    parse_id,
    resume_gone,
)


@dataclass(eq=False)
class _Log:
    """One topic's bounded history: ``(id, id before it, payload)``, oldest first."""

    entries: deque[tuple[EventId, EventId, bytes]] = field(default_factory=deque)
    last: EventId = (0, 0)
    touched: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class MemoryBroker:
    """State shared by the ``MemoryPubSub`` workers of one process."""

    def __init__(self) -> None:
        self.logs: dict[str, _Log] = {}
        self.subscribers: dict[str, set[MemoryPubSub]] = {}
        self.presence: dict[str, dict[str, tuple[str, bytes]]] = {}
        self.workers: dict[str, float] = {}
        self._clock: EventId = (0, 0)

    def next_id(self) -> EventId:
        """A new id, greater than every earlier one (time based like Redis stream ids, so
        ids also grow across restarts and an old client id is recognised as stale)."""
        ms = time.time_ns() // 1_000_000
        last_ms, last_seq = self._clock
        self._clock = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._clock

    def log(self, topic: str) -> _Log:
        log = self.logs.get(topic)
        if log is None:
            log = self.logs[topic] = _Log()
        return log

    def alive(self, worker: str, now: float, ttl: float) -> bool:
        seen = self.workers.get(worker)
        return seen is not None and now - seen <= ttl


class MemoryPubSub(PubSub):
    """In-process pub/sub. See ``PubSub`` for the arguments; ``broker`` shares state with
    other instances (default: a private one)."""

    def __init__(
        self,
        *,
        history: int = 1000,
        history_ttl: float = 86400.0,
        presence_ttl: float = 30.0,
        broker: MemoryBroker | None = None,
    ) -> None:
        super().__init__(history=history, history_ttl=history_ttl, presence_ttl=presence_ttl)
        self.broker = broker or MemoryBroker()
        self.worker_id = uuid.uuid4().hex[:12]
        self._topics: set[str] = set()

    async def start(self, listener: Listener) -> None:
        self.listener = listener
        self.broker.workers[self.worker_id] = time.monotonic()

    async def stop(self) -> None:
        for topic in list(self._topics):
            await self.unsubscribe(topic)
        self.broker.workers.pop(self.worker_id, None)
        self.listener = None

    def abandon(self) -> None:
        """Vanish without cleaning up, as a crashed worker would (for tests)."""
        for topic in self._topics:
            self.broker.subscribers.get(topic, set()).discard(self)
        self._topics.clear()
        self.listener = None

    async def _deliver(self, topic: str, event_id: str | None, payload: bytes) -> None:
        for worker in list(self.broker.subscribers.get(topic, ())):
            if worker.listener is not None:
                await worker.listener.on_message(topic, event_id, payload)

    async def publish(self, topic: str, payload: bytes) -> str:
        broker = self.broker
        log = broker.log(topic)
        # The lock keeps delivery in id order even when a listener awaits (an async
        # visibility check) while another publish to the same topic comes in.
        async with log.lock:
            key = broker.next_id()
            log.entries.append((key, log.last, payload))
            log.last = key
            log.touched = time.monotonic()
            while len(log.entries) > self.history_size:
                log.entries.popleft()
            event_id = format_id(key)
            await self._deliver(topic, event_id, payload)
        return event_id

    async def publish_ephemeral(self, topic: str, payload: bytes) -> None:
        log = self.broker.logs.get(topic)
        if log is None:
            await self._deliver(topic, None, payload)
            return
        async with log.lock:
            await self._deliver(topic, None, payload)

    async def history(self, topic: str, since: str | None) -> History:
        log = self.broker.logs.get(topic)
        if log is None:
            last: EventId = (0, 0)
            entries: list[tuple[EventId, EventId, bytes]] = []
        else:
            last = log.last
            entries = list(log.entries)
        found = History(last_id=format_id(last) if log is not None else ZERO)
        if since is None:
            return found
        key = parse_id(since)
        first = (entries[0][0], entries[0][1]) if entries else None
        if resume_gone(key, first, last):
            found.gone = True
            return found
        found.events = [(format_id(k), payload) for k, _, payload in entries if k > key]
        return found

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)
        self.broker.subscribers.setdefault(topic, set()).add(self)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)
        subscribers = self.broker.subscribers.get(topic)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self.broker.subscribers[topic]

    async def presence_add(self, topic: str, ref: str, entry: bytes) -> None:
        self.broker.presence.setdefault(topic, {})[ref] = (self.worker_id, entry)

    async def presence_remove(self, topic: str, ref: str) -> bytes | None:
        entries = self.broker.presence.get(topic)
        if entries is None:
            return None
        found = entries.pop(ref, None)
        if not entries:
            del self.broker.presence[topic]
        return None if found is None else found[1]

    async def presence_entries(self, topic: str) -> dict[str, bytes]:
        now = time.monotonic()
        broker = self.broker
        return {
            ref: entry
            for ref, (worker, entry) in broker.presence.get(topic, {}).items()
            if broker.alive(worker, now, self.presence_ttl)
        }

    async def heartbeat(self) -> Sequence[tuple[str, str, bytes]]:
        broker = self.broker
        now = time.monotonic()
        broker.workers[self.worker_id] = now
        dead = {w for w in broker.workers if not broker.alive(w, now, self.presence_ttl)}
        reaped: list[tuple[str, str, bytes]] = []
        if dead:
            for worker in dead:
                del broker.workers[worker]
            for topic, entries in list(broker.presence.items()):
                for ref, (worker, entry) in list(entries.items()):
                    if worker in dead:
                        del entries[ref]
                        reaped.append((topic, ref, entry))
                if not entries:
                    del broker.presence[topic]
        for topic, log in list(broker.logs.items()):
            idle = now - log.touched > self.history_ttl
            if idle and topic not in broker.subscribers and not log.lock.locked():
                del broker.logs[topic]
        return reaped


__all__ = ["MemoryBroker", "MemoryPubSub"]
