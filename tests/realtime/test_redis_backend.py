"""Redis-only behaviour: the subscriber connection dropping and coming back (delivery
resumes without restarting, and what was published meanwhile is replayed), a gap older
than the history, and failing fast when Redis is unreachable."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from tests.realtime.conftest import REDIS_URL, Recorder
from tests.realtime.support import eventually
from tidal.realtime.backends.redis import RedisPubSub


async def kill_subscriber(client: Redis, backend: RedisPubSub) -> None:
    """Drop the backend's subscriber connection from the server side."""
    clients = await client.client_list()
    ids = [c["id"] for c in clients if c.get("name") == backend.client_name]
    assert ids, f"no Redis client named {backend.client_name}"
    for client_id in ids:
        await client.client_kill_filter(_id=client_id)


async def test_delivery_resumes_after_the_connection_is_killed(
    redis_client: Redis, prefix: str
) -> None:
    subscriber = RedisPubSub(REDIS_URL, prefix=prefix, ping_interval=1.0)
    publisher = RedisPubSub(REDIS_URL, prefix=prefix)
    seen = Recorder()
    await subscriber.start(seen)
    await publisher.start(Recorder())
    try:
        await subscriber.subscribe("t")
        first = await publisher.publish("t", b'{"n":1}')
        await eventually(lambda: len(seen.messages) == 1)

        await kill_subscriber(redis_client, subscriber)
        during = [await publisher.publish("t", b'{"n":%d}' % n) for n in (2, 3)]
        await eventually(lambda: len(seen.messages) == 3, message="replay of the gap")
        after = await publisher.publish("t", b'{"n":4}')
        await eventually(lambda: len(seen.messages) == 4, message="live delivery again")

        assert [m[1] for m in seen.messages] == [first, *during, after]
        assert [m[2] for m in seen.messages] == [b'{"n":%d}' % n for n in (1, 2, 3, 4)]
        assert seen.gaps == []

        # Killed again, twice in a row: still no loss and no duplicates.
        await kill_subscriber(redis_client, subscriber)
        await asyncio.sleep(0.2)
        await kill_subscriber(redis_client, subscriber)
        later = await publisher.publish("t", b'{"n":5}')
        await eventually(lambda: len(seen.messages) == 5)
        assert seen.messages[-1][1] == later
    finally:
        await subscriber.stop()
        await publisher.stop()


async def test_subscribing_while_disconnected_completes_after_reconnect(
    redis_client: Redis, prefix: str
) -> None:
    backend = RedisPubSub(REDIS_URL, prefix=prefix, ping_interval=1.0)
    seen = Recorder()
    await backend.start(seen)
    try:
        await kill_subscriber(redis_client, backend)
        await backend.subscribe("late")  # waits for the reconnect's confirmation
        await backend.publish("late", b"{}")
        await eventually(lambda: len(seen.messages) == 1)
    finally:
        await backend.stop()


async def test_a_gap_older_than_the_history_is_reported(redis_client: Redis, prefix: str) -> None:
    backend = RedisPubSub(REDIS_URL, prefix=prefix, history=10, ping_interval=1.0)
    seen = Recorder()
    await backend.start(seen)
    try:
        await backend.subscribe("t")
        for n in range(300):
            await backend.publish("t", b'{"n":%d}' % n)
        await eventually(lambda: len(seen.messages) == 300)
        # Pretend the last event this worker delivered is long trimmed, then reconnect.
        backend._last["t"] = (1, 0)
        await kill_subscriber(redis_client, backend)
        await eventually(lambda: seen.gaps == ["t"], message="the gap report")
        assert len(seen.messages) == 300
    finally:
        await backend.stop()


async def test_start_fails_fast_when_redis_is_unreachable() -> None:
    backend = RedisPubSub("redis://127.0.0.1:1/0", prefix="test:unreachable:")
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(backend.start(Recorder()), 10)
    await backend.stop()
