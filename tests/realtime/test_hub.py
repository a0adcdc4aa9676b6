"""Local fan-out: encoded once, no await per socket, slow consumers cut off, visibility
checked once per group, resumes without loss or duplicates. On both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from typing import Any

import msgspec
import pytest

from tests.realtime.conftest import BackendFactory
from tests.realtime.support import eventually
from tidal.realtime.backends import MemoryPubSub
from tidal.realtime.hub import Broadcast, Hub
from tidal.realtime.queue import SendQueue


class Sub:
    """A subscriber standing in for a socket."""

    def __init__(self, limit: int = 100) -> None:
        self.queue: SendQueue[Any] = SendQueue(limit)
        self.topics: set[str] = set()
        self.cut_off = False

    def deliver(self, broadcast: Broadcast) -> bool:
        return self.queue.put(broadcast.message) or self.queue.closed

    def deliver_frame(self, message: dict[str, Any]) -> bool:
        return self.queue.put(message) or self.queue.closed

    def overflowed(self) -> None:
        self.cut_off = True
        self.queue.close(discard=True)

    def topic_names(self) -> Iterable[str]:
        return self.topics

    def frames(self) -> list[dict[str, Any]]:
        items, self.queue._items = self.queue._items, []
        return [msgspec.json.decode(m["text"]) for m in items]


async def join(hub: Hub, sub: Sub, topic: str, **options: Any) -> None:
    sub.topics.add(topic)
    await hub.activate(await hub.attach(sub, topic, **options))


async def test_a_broadcast_is_encoded_once_and_queued_without_awaiting() -> None:
    hub = Hub(MemoryPubSub())
    await hub.start()
    try:
        subs = [Sub() for _ in range(1000)]
        for sub in subs:
            await join(hub, sub, "t")
        payload = b'{"event":"e","data":{"n":1}}'
        # The whole fan-out completes in one step: no suspension, no await per socket.
        step = hub.on_message("t", "5-0", payload)
        with pytest.raises(StopIteration):
            step.send(None)
        first = subs[0].queue._items[0]
        assert all(sub.queue._items == [first] for sub in subs)
        assert all(sub.queue._items[0] is first for sub in subs)  # one shared message
        assert msgspec.json.decode(first["text"]) == {
            "type": "event",
            "topic": "t",
            "id": "5-0",
            "event": "e",
            "data": {"n": 1},
        }
    finally:
        await hub.stop()


async def test_a_consumer_that_falls_behind_is_cut_off_and_others_keep_receiving(
    make_backend: BackendFactory,
) -> None:
    hub = Hub(make_backend())
    await hub.start()
    try:
        slow, fast = Sub(limit=3), Sub(limit=3)
        await join(hub, slow, "t")
        await join(hub, fast, "t")
        received: list[dict[str, Any]] = []
        for n in range(10):
            await hub.publish("t", "n", n)
            await eventually(lambda n=n: len(received) + len(fast.queue) == n + 1)
            received.extend(fast.frames())  # the fast one reads as it goes
        assert [f["data"] for f in received] == list(range(10))
        assert slow.cut_off
        assert len(slow.queue) == 0
        assert hub.members("t") == 1  # only the fast one is still attached
    finally:
        await hub.stop()


async def test_visibility_runs_once_per_group_per_event(make_backend: BackendFactory) -> None:
    hub = Hub(make_backend())
    await hub.start()
    calls: list[tuple[Hashable, str]] = []

    def visible(group: Hashable, broadcast: Broadcast) -> bool:
        calls.append((group, broadcast.event))
        return group == "staff" or broadcast.data.get("public", False)

    try:
        staff = [Sub() for _ in range(50)]
        guests = [Sub() for _ in range(50)]
        for sub in staff:
            await join(hub, sub, "t", group="staff", visible=visible)
        for sub in guests:
            await join(hub, sub, "t", group="guest", visible=visible)
        await hub.publish("t", "secret", {"public": False})
        await hub.publish("t", "notice", {"public": True})
        await eventually(lambda: len(staff[0].queue) == 2)
        await eventually(lambda: len(guests[0].queue) == 1)
        assert sorted(calls) == [
            ("guest", "notice"),
            ("guest", "secret"),
            ("staff", "notice"),
            ("staff", "secret"),
        ]
        assert all([f["event"] for f in s.frames()] == ["secret", "notice"] for s in staff)
        assert all([f["event"] for f in s.frames()] == ["notice"] for s in guests)
    finally:
        await hub.stop()


async def test_an_async_visibility_check_keeps_order(make_backend: BackendFactory) -> None:
    hub = Hub(make_backend())
    await hub.start()

    async def visible(group: Hashable, broadcast: Broadcast) -> bool:
        await asyncio.sleep(0.001)
        return True

    try:
        sub = Sub()
        await join(hub, sub, "t", group="g", visible=visible)
        await asyncio.gather(*(hub.publish("t", "n", n) for n in range(20)))
        await eventually(lambda: len(sub.queue) == 20)
        ids = [f["id"] for f in sub.frames()]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    finally:
        await hub.stop()


async def test_joining_with_a_resume_id_misses_nothing_and_repeats_nothing(
    make_backend: BackendFactory,
) -> None:
    hub = Hub(make_backend())
    await hub.start()
    try:
        ids = [await hub.publish("t", "n", n) for n in range(5)]
        sub = Sub()
        sub.topics.add("t")
        attachment = await hub.attach(sub, "t", since=ids[1])
        # Published while the joiner is between reading history and going live:
        await hub.publish("t", "n", 5)
        await hub.publish("t", "n", 6)
        await asyncio.sleep(0.05)
        await hub.activate(attachment)
        await hub.publish("t", "n", 7)
        await eventually(lambda: len(sub.queue) == 6)
        assert [f["data"] for f in sub.frames()] == [2, 3, 4, 5, 6, 7]
    finally:
        await hub.stop()


async def test_the_last_member_leaving_unsubscribes(make_backend: BackendFactory) -> None:
    hub = Hub(make_backend())
    await hub.start()
    try:
        a, b = Sub(), Sub()
        await join(hub, a, "t")
        await join(hub, b, "t")
        hub.detach(a, "t")
        assert "t" in hub.topics
        hub.detach(b, "t")
        assert "t" not in hub.topics
        await hub.publish("t", "n", 1)
        await asyncio.sleep(0.05)
        assert len(a.queue) == len(b.queue) == 0
    finally:
        await hub.stop()
