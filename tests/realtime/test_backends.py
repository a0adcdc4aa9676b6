"""The pub/sub backends, each test on memory and on Redis: ordering, ids, bounded history,
resume, the "gone" signal, ephemeral frames and presence expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.realtime.conftest import BackendFactory, Recorder
from tests.realtime.support import eventually, key
from tidal.realtime.backends.base import ZERO, resume_gone


async def test_events_arrive_in_order_across_workers_with_growing_ids(
    make_backend: BackendFactory, recorder: Callable[[], Recorder]
) -> None:
    reader, writer_a, writer_b = make_backend(), make_backend(), make_backend()
    seen = recorder()
    await reader.start(seen)
    await writer_a.start(recorder())
    await writer_b.start(recorder())
    try:
        await reader.subscribe("t")
        published = []
        for n in range(60):
            writer = writer_a if n % 2 else writer_b
            published.append(await writer.publish("t", b'{"n":%d}' % n))
        await eventually(lambda: len(seen.messages) == 60, message="60 deliveries")
        assert [m[1] for m in seen.messages] == published
        assert [m[2] for m in seen.messages] == [b'{"n":%d}' % n for n in range(60)]
        keys = [key(i) for i in published]
        assert keys == sorted(keys)
        assert len(set(keys)) == 60
    finally:
        for backend in (reader, writer_a, writer_b):
            await backend.stop()


async def test_topics_are_independent_and_unsubscribe_stops_delivery(
    make_backend: BackendFactory, recorder: Callable[[], Recorder]
) -> None:
    backend = make_backend()
    seen = recorder()
    await backend.start(seen)
    try:
        await backend.subscribe("a")
        await backend.publish("b", b"{}")
        await backend.publish("a", b'{"x":1}')
        await eventually(lambda: len(seen.messages) == 1)
        await backend.unsubscribe("a")
        await backend.publish("a", b'{"x":2}')
        await asyncio.sleep(0.1)
        assert [(t, p) for t, _, p in seen.messages] == [("a", b'{"x":1}')]
    finally:
        await backend.stop()


async def test_resume_returns_exactly_what_was_missed(
    make_backend: BackendFactory, recorder: Callable[[], Recorder]
) -> None:
    backend = make_backend()
    await backend.start(recorder())
    try:
        empty = await backend.history("t", None)
        assert (empty.last_id, empty.events, empty.gone) == (ZERO, [], False)
        ids = [await backend.publish("t", b'{"n":%d}' % n) for n in range(10)]
        found = await backend.history("t", ids[3])
        assert not found.gone
        assert [i for i, _ in found.events] == ids[4:]
        assert found.events[0][1] == b'{"n":4}'
        assert found.last_id == ids[-1]
        up_to_date = await backend.history("t", ids[-1])
        assert (up_to_date.events, up_to_date.gone) == ([], False)
        fresh = await backend.history("t", None)
        assert (fresh.events, fresh.last_id) == ([], ids[-1])
        from_start = await backend.history("t", ZERO)
        assert [i for i, _ in from_start.events] == ids
    finally:
        await backend.stop()


async def test_history_is_bounded_and_too_old_ids_are_gone(
    make_backend: BackendFactory, recorder: Callable[[], Recorder], backend_kind: str
) -> None:
    backend = make_backend(history=10)
    await backend.start(recorder())
    try:
        ids = [await backend.publish("t", b'{"n":%d}' % n) for n in range(400)]
        everything = await backend.history("t", ZERO)
        assert everything.gone, "the first events were trimmed, so 0-0 cannot resume"
        kept = [i for i, _ in (await backend.history("t", ids[-11])).events]
        assert kept == ids[-10:]
        # Find the event just before the oldest kept one: the oldest id one can resume from.
        before_oldest = 0
        while (await backend.history("t", ids[before_oldest])).gone:
            before_oldest += 1
        kept_count = 400 - before_oldest - 1
        # Memory keeps exactly 10; Redis (MAXLEN ~) at least 10 and at most one more node.
        assert 10 <= kept_count <= (10 if backend_kind == "memory" else 10 + 100)
        assert (await backend.history("t", ids[0])).gone
        assert (await backend.history("t", ids[before_oldest - 1])).gone
        resumed = await backend.history("t", ids[before_oldest])
        assert [i for i, _ in resumed.events] == ids[before_oldest + 1 :]
    finally:
        await backend.stop()


async def test_ids_from_elsewhere_are_gone(
    make_backend: BackendFactory, recorder: Callable[[], Recorder]
) -> None:
    backend = make_backend()
    await backend.start(recorder())
    try:
        assert (await backend.history("empty", "1700000000000-0")).gone
        assert not (await backend.history("empty", ZERO)).gone
        last = await backend.publish("t", b"{}")
        ms, _, _seq = last.partition("-")
        assert (await backend.history("t", f"{int(ms) + 1000}-0")).gone  # from the future
        assert (await backend.history("t", "1-0")).gone  # before this history began
        with pytest.raises(ValueError, match="not an event id"):
            await backend.history("t", "yesterday")
    finally:
        await backend.stop()


async def test_ephemeral_frames_are_delivered_not_stored(
    make_backend: BackendFactory, recorder: Callable[[], Recorder]
) -> None:
    one, two = make_backend(), make_backend()
    seen = recorder()
    await one.start(seen)
    await two.start(recorder())
    try:
        await one.subscribe("t")
        await two.publish_ephemeral("t", b'{"typing":true}')
        await eventually(lambda: seen.messages == [("t", None, b'{"typing":true}')])
        assert (await two.history("t", None)).last_id == ZERO
    finally:
        await one.stop()
        await two.stop()


async def test_presence_entries_of_a_crashed_worker_expire_once(
    make_backend: BackendFactory, recorder: Callable[[], Recorder]
) -> None:
    crashing = make_backend(presence_ttl=1.0)
    survivor = make_backend(presence_ttl=1.0)
    other = make_backend(presence_ttl=1.0)
    for backend in (crashing, survivor, other):
        await backend.start(recorder())
    try:
        await crashing.presence_add("room", f"{crashing.worker_id}.1.1", b'{"key":"ann"}')
        await survivor.presence_add("room", f"{survivor.worker_id}.1.2", b'{"key":"bob"}')
        both = await other.presence_entries("room")
        assert sorted(both.values()) == [b'{"key":"ann"}', b'{"key":"bob"}']
        removed = await survivor.presence_remove("room", f"{survivor.worker_id}.1.2")
        assert removed == b'{"key":"bob"}'
        assert await survivor.presence_remove("room", f"{survivor.worker_id}.1.2") is None
        await survivor.presence_add("room", f"{survivor.worker_id}.1.3", b'{"key":"bob"}')

        crashing.abandon()  # no cleanup, no more heartbeats
        await asyncio.sleep(0.6)
        assert await survivor.heartbeat() == []
        assert await other.heartbeat() == []
        await asyncio.sleep(0.7)
        # Past the TTL: readers no longer see the dead worker's entries ...
        assert list((await other.presence_entries("room")).values()) == [b'{"key":"bob"}']
        # ... and exactly one live worker reaps them (to announce the leaves).
        reaped = [*(await survivor.heartbeat()), *(await other.heartbeat())]
        assert reaped == [("room", f"{crashing.worker_id}.1.1", b'{"key":"ann"}')]
        assert [*(await survivor.heartbeat()), *(await other.heartbeat())] == []
    finally:
        for backend in (survivor, other, crashing):
            await backend.stop()  # (the crashed one only closes its connections now)


@pytest.mark.parametrize(
    ("since", "first", "last", "gone"),
    [
        ((0, 0), None, (0, 0), False),  # empty topic, client saw it empty
        ((5, 0), None, (0, 0), True),  # id from a history that no longer exists
        ((0, 0), ((3, 0), (0, 0)), (9, 0), False),  # nothing trimmed yet
        ((0, 0), ((3, 0), (2, 0)), (9, 0), True),  # the first events were trimmed
        ((2, 0), ((3, 0), (2, 0)), (9, 0), False),  # saw the one just before the oldest
        ((1, 0), ((3, 0), (2, 0)), (9, 0), True),
        ((4, 0), ((3, 0), (2, 0)), (9, 0), False),
        ((10, 0), ((3, 0), (2, 0)), (9, 0), True),  # newer than anything here
    ],
)
def test_resume_rule(
    since: tuple[int, int],
    first: tuple[tuple[int, int], tuple[int, int]] | None,
    last: tuple[int, int],
    gone: bool,
) -> None:
    assert resume_gone(since, first, last) is gone
