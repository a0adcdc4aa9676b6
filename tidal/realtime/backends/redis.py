"""The Redis backend: history in Streams, live delivery over Pub/Sub, presence in hashes.

Design, and why:

* **History is a stream per topic** (``XADD ... MAXLEN ~ N``): ordered, ids that only grow,
  trimmed in O(1) amortised, and ``XRANGE (<id> +`` returns exactly what a client missed.
  Each entry also stores the id of the entry before it (``p``), so after trimming the
  backend can still tell "the client saw the entry just before the oldest kept one"
  (resumable) from "entries the client never saw were trimmed" (gone). Redis 7's
  ``max-deleted-entry-id`` is not moved by ``MAXLEN`` trimming, so it cannot answer this.
* **Live delivery is Pub/Sub, one channel per topic, read by one task per worker.** A
  worker subscribes only to topics its sockets joined; ``SUBSCRIBE`` and ``UNSUBSCRIBE``
  are O(1) and take effect while reading. The alternative, one ``XREAD BLOCK`` over every
  subscribed stream, must resend all keys and ids on every call (10,000 topics => 10,000
  keys per read) and cannot add a topic without waking the blocked read.
* **Publishing is one Lua script**: ``XADD`` and ``PUBLISH`` run atomically, so Pub/Sub
  order equals id order even with many publishers.
* **Pub/Sub drops messages while a subscriber is disconnected, and the stream repairs
  that.** The reader remembers the last id it delivered per topic; after reconnecting and
  resubscribing it reads each stream from there (``XRANGE``) before delivering anything
  newer, dropping duplicates by id. If the missed entries were trimmed meanwhile the hub
  is told (``on_gap``) and its clients are asked to reload. The connection is watched with
  PINGs, so a silently dead connection is noticed within ``ping_interval`` seconds.
* **Presence**: one hash per topic (``ref -> entry``), a set per worker listing its
  entries, and a heartbeat key per worker with a TTL. Entries of a worker whose heartbeat
  key expired are ignored by readers and removed (and announced as leaves) by whichever
  live worker first takes that worker's reap lock.

Keys (``prefix`` defaults to ``tidal:rt:``): ``s:<topic>`` stream, ``c:<topic>`` channel,
``p:<topic>`` presence hash, ``w:<worker>`` a worker's entries, ``hb:<worker>`` heartbeat,
``workers`` known workers, ``reap:<worker>`` reap lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub as RedisPubSubConnection
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

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

logger = logging.getLogger("tidal.realtime")

PUBLISH = """
local prev = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then prev = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'p', prev, 'd', ARGV[1])
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('PUBLISH', ARGV[4], id .. ' ' .. ARGV[1])
return id
"""

_EPHEMERAL = b"-"


class SubscriptionLost(ConnectionError):
    """The subscriber connection was re-established behind the reader's back."""


class RedisPubSub(PubSub):
    """Pub/sub across processes and hosts through Redis.

    Args:
        url: ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS).
        prefix: prepended to every key and channel; give each application (and each test)
            its own.
        history: events kept per topic (at least; ``MAXLEN ~`` trims by whole nodes).
        history_ttl: seconds a topic's stream outlives its last event.
        presence_ttl: seconds a crashed worker's presence entries stay visible.
        ping_interval: seconds between liveness PINGs on the subscriber connection.
        subscribe_timeout: seconds ``subscribe`` waits for Redis to confirm.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tidal:rt:",
        history: int = 1000,
        history_ttl: float = 86400.0,
        presence_ttl: float = 30.0,
        ping_interval: float = 5.0,
        subscribe_timeout: float = 10.0,
    ) -> None:
        super().__init__(history=history, history_ttl=history_ttl, presence_ttl=presence_ttl)
        self.unavailable = (*self.unavailable, RedisError)
        self.url = url
        self.prefix = prefix
        self.ping_interval = ping_interval
        self.subscribe_timeout = subscribe_timeout
        self.worker_id = uuid.uuid4().hex[:12]
        self.client_name = f"{prefix}sub:{self.worker_id}".replace(" ", "_")
        self.redis: Redis = Redis.from_url(url)
        # No silent retries on the subscriber: every reconnect must go through the reader
        # loop, which repairs the messages missed meanwhile.
        self._sub: Redis = Redis.from_url(
            url, client_name=self.client_name, retry=Retry(NoBackoff(), 0)
        )
        self._publish = self.redis.register_script(PUBLISH)
        self._topics: set[str] = set()
        self._last: dict[str, EventId] = {}
        self._waiting: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._pubsub: RedisPubSubConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._connects = 0
        self._lost = False
        self._stopping = False

    # -- names -----------------------------------------------------------------------

    def stream_key(self, topic: str) -> str:
        return f"{self.prefix}s:{topic}"

    def channel(self, topic: str) -> bytes:
        return f"{self.prefix}c:{topic}".encode()

    def _topic_of(self, channel: bytes) -> str:
        return channel.decode()[len(self.prefix) + 2 :]

    # -- life ------------------------------------------------------------------------

    async def start(self, listener: Listener) -> None:
        self.listener = listener
        self._stopping = False
        try:
            await self.redis.ping()
            await self.heartbeat()
        except (RedisError, OSError) as exc:
            await self._close_connections()
            raise ConnectionError(
                f"Real time cannot reach Redis at {self.url} (TIDAL_REDIS_URL): {exc}. Start "
                "Redis or fix the URL; unset it to use the in-process backend."
            ) from exc
        self._reader = asyncio.get_running_loop().create_task(
            self._read_forever(), name=f"tidal-realtime-reader-{self.worker_id}"
        )
        try:
            await asyncio.wait_for(self._connected.wait(), self.subscribe_timeout)
        except TimeoutError:
            await self.stop()
            raise ConnectionError(
                f"Could not subscribe to Redis at {self.url} within {self.subscribe_timeout}s."
            ) from None

    async def stop(self) -> None:
        self._stopping = True
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        with contextlib.suppress(RedisError, OSError):
            await self.redis.srem(f"{self.prefix}workers", self.worker_id)
            await self.redis.delete(f"{self.prefix}hb:{self.worker_id}")
        await self._close_connections()
        self.listener = None

    def abandon(self) -> None:
        """Stop reading without any cleanup, as a crashed worker would (for tests)."""
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        self.listener = None

    async def _close_connections(self) -> None:
        for waiters in self._waiting.values():
            for future in waiters:
                if not future.done():
                    future.cancel()
        self._waiting.clear()
        with contextlib.suppress(RedisError, OSError):
            await self._sub.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()

    # -- events ----------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes) -> str:
        ttl = int(self.history_ttl * 1000)
        result = await self._publish(
            keys=[self.stream_key(topic)],
            args=[payload, self.history_size, ttl, self.channel(topic)],
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    async def publish_ephemeral(self, topic: str, payload: bytes) -> None:
        await self.redis.publish(self.channel(topic), _EPHEMERAL + b" " + payload)

    async def history(self, topic: str, since: str | None) -> History:
        key = self.stream_key(topic)
        since_key = parse_id(since) if since is not None else None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xrange(key, "-", "+", count=1)
            pipe.xrevrange(key, "+", "-", count=1)
            if since is not None:
                pipe.xrange(key, f"({since}", "+")
            results = await pipe.execute()
        oldest, newest = results[0], results[1]
        last = parse_id(newest[0][0].decode()) if newest else (0, 0)
        found = History(last_id=format_id(last) if newest else ZERO)
        if since_key is None:
            return found
        first = None
        if oldest:
            entry_id, fields = oldest[0]
            first = (parse_id(entry_id.decode()), parse_id(fields[b"p"].decode()))
        if resume_gone(since_key, first, last):
            found.gone = True
            return found
        found.events = [(entry_id.decode(), fields[b"d"]) for entry_id, fields in results[2]]
        return found

    async def subscribe(self, topic: str) -> None:
        channel = self.channel(topic)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(channel, deque()).append(future)
        self._topics.add(topic)
        pubsub = self._pubsub
        if pubsub is not None and self._connected.is_set():
            # A failure means a dead connection: the reader notices, reconnects and
            # subscribes everything in _topics.
            with contextlib.suppress(Exception):
                await pubsub.subscribe(channel)
        try:
            await asyncio.wait_for(asyncio.shield(future), self.subscribe_timeout)
        except TimeoutError:
            raise ConnectionError(
                f"Redis did not confirm the subscription to {topic!r} within "
                f"{self.subscribe_timeout}s; is Redis reachable?"
            ) from None

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)
        self._last.pop(topic, None)
        pubsub = self._pubsub
        if pubsub is not None and self._connected.is_set():
            with contextlib.suppress(Exception):  # a dead connection: nothing to undo
                await pubsub.unsubscribe(self.channel(topic))

    def _confirmed(self, channel: bytes) -> None:
        waiters = self._waiting.get(channel)
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(None)
                break
        if waiters is not None and not waiters:
            del self._waiting[channel]

    # -- the reader ------------------------------------------------------------------

    def _on_connect(self, connection: Any) -> None:
        self._connects += 1

    async def _read_forever(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if not self._lost and not self._stopping:
                    logger.warning(
                        "Realtime lost its Redis subscription (%s: %s); reconnecting.",
                        type(exc).__name__,
                        exc,
                    )
                self._lost = True
            finally:
                self._connected.clear()
                pubsub, self._pubsub = self._pubsub, None
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
            if self._stopping:
                break
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
            if not self._lost:
                backoff = 0.05

    async def _read(self) -> None:
        pubsub = self._sub.pubsub()
        self._pubsub = pubsub
        self._connects = 0
        control = f"{self.prefix}worker:{self.worker_id}".encode()
        channels = [control, *(self.channel(t) for t in self._topics)]
        await pubsub.subscribe(*channels)
        assert pubsub.connection is not None
        pubsub.connection.register_connect_callback(self._on_connect)
        self._connects = 1
        expected = set(channels)
        buffered: list[dict[str, Any]] = []
        while expected:
            message = await self._next(pubsub)
            if message is None:
                continue
            if message["type"] == "subscribe":
                expected.discard(message["channel"])
                self._confirmed(message["channel"])
            elif message["type"] == "message":
                buffered.append(message)
        await self._repair()
        if self._lost:
            logger.warning("Realtime Redis subscription restored; missed events replayed.")
            self._lost = False
        self._connected.set()
        # Topics added while this connection was being set up were not in its SUBSCRIBE.
        late = {self.channel(t) for t in self._topics} - set(channels)
        if late:
            await pubsub.subscribe(*late)
        for message in buffered:
            await self._handle(message)
        while True:
            message = await self._next(pubsub)
            if message is not None:
                await self._handle(message)

    async def _next(self, pubsub: RedisPubSubConnection) -> dict[str, Any] | None:
        """The next message, PINGing when idle; raises when the connection is dead or was
        silently re-established (messages may have been missed in between)."""
        deadline = time.monotonic() + self.ping_interval * 2
        while True:
            message = await pubsub.get_message(timeout=self.ping_interval)
            if self._connects != 1:
                raise SubscriptionLost("the subscriber connection was re-established")
            if message is not None:
                return dict(message)
            if time.monotonic() > deadline:
                raise SubscriptionLost(f"no answer from Redis for {self.ping_interval * 2}s")
            await pubsub.ping()

    async def _repair(self) -> None:
        """Deliver what each subscribed topic missed while the connection was down."""
        listener = self.listener
        for topic, last in list(self._last.items()):
            found = await self.history(topic, format_id(last))
            if listener is None:
                return
            if found.gone:
                self._last[topic] = parse_id(found.last_id)
                await listener.on_gap(topic)
                continue
            for event_id, payload in found.events:
                await self._dispatch(topic, event_id, payload)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "subscribe":
            self._confirmed(message["channel"])
            return
        if kind != "message":
            return
        topic = self._topic_of(message["channel"])
        head, _, payload = message["data"].partition(b" ")
        if head == _EPHEMERAL:
            if self.listener is not None and topic in self._topics:
                await self.listener.on_message(topic, None, payload)
            return
        await self._dispatch(topic, head.decode(), payload)

    async def _dispatch(self, topic: str, event_id: str, payload: bytes) -> None:
        if topic not in self._topics or self.listener is None:
            return
        key = parse_id(event_id)
        last = self._last.get(topic)
        if last is not None and key <= last:
            return  # already delivered (replayed after a reconnect)
        self._last[topic] = key
        await self.listener.on_message(topic, event_id, payload)

    # -- presence --------------------------------------------------------------------

    def _owner_key(self, worker: str) -> str:
        return f"{self.prefix}w:{worker}"

    async def presence_add(self, topic: str, ref: str, entry: bytes) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"{self.prefix}p:{topic}", ref, entry)
            pipe.sadd(self._owner_key(self.worker_id), msgspec.json.encode([topic, ref]))
            await pipe.execute()

    async def presence_remove(self, topic: str, ref: str) -> bytes | None:
        key = f"{self.prefix}p:{topic}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, ref)
            pipe.hdel(key, ref)
            pipe.srem(self._owner_key(self.worker_id), msgspec.json.encode([topic, ref]))
            entry, _, _ = await pipe.execute()
        return entry if isinstance(entry, bytes) else None

    async def presence_entries(self, topic: str) -> dict[str, bytes]:
        raw = await self.redis.hgetall(f"{self.prefix}p:{topic}")
        entries = {_text(ref): _bytes(entry) for ref, entry in raw.items()}
        workers = sorted({ref.partition(".")[0] for ref in entries})
        if not workers:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for worker in workers:
                pipe.exists(f"{self.prefix}hb:{worker}")
            alive = {w for w, found in zip(workers, await pipe.execute(), strict=True) if found}
        return {ref: e for ref, e in entries.items() if ref.partition(".")[0] in alive}

    async def heartbeat(self) -> Sequence[tuple[str, str, bytes]]:
        prefix = self.prefix
        ttl = max(1, int(self.presence_ttl * 1000))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(f"{prefix}hb:{self.worker_id}", b"1", px=ttl)
            pipe.sadd(f"{prefix}workers", self.worker_id)
            pipe.smembers(f"{prefix}workers")
            members: set[bytes] = (await pipe.execute())[2]
        others = sorted(m.decode() for m in members if m.decode() != self.worker_id)
        if not others:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for worker in others:
                pipe.exists(f"{prefix}hb:{worker}")
            alive = await pipe.execute()
        reaped: list[tuple[str, str, bytes]] = []
        for worker, found in zip(others, alive, strict=True):
            if found:
                continue
            if not await self.redis.set(f"{prefix}reap:{worker}", b"1", nx=True, px=ttl):
                continue  # another live worker is reaping it
            owned = await self.redis.smembers(self._owner_key(worker))
            for item in owned:
                topic, ref = msgspec.json.decode(_bytes(item), type=tuple[str, str])
                key = f"{prefix}p:{topic}"
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hget(key, ref)
                    pipe.hdel(key, ref)
                    entry, _ = await pipe.execute()
                if isinstance(entry, bytes):
                    reaped.append((topic, ref, entry))
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._owner_key(worker))
                pipe.srem(f"{prefix}workers", worker)
                await pipe.execute()
        return reaped


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


__all__ = ["RedisPubSub", "SubscriptionLost"]
