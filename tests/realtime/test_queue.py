"""The bounded send queue."""

from __future__ import annotations

import asyncio

import pytest

from tidal.realtime.queue import QueueClosed, SendQueue


async def test_put_take_in_order_and_refuse_when_full() -> None:
    queue: SendQueue[int] = SendQueue(3)
    assert [queue.put(n) for n in range(5)] == [True, True, True, False, False]
    assert len(queue) == 3
    assert await queue.take() == [0, 1, 2]
    assert queue.put(9)
    assert await queue.take() == [9]


async def test_take_waits_for_an_item() -> None:
    queue: SendQueue[str] = SendQueue(2)
    taker = asyncio.ensure_future(queue.take())
    await asyncio.sleep(0)
    assert not taker.done()
    queue.put("x")
    assert await taker == ["x"]


async def test_close_lets_the_rest_be_taken_then_raises() -> None:
    queue: SendQueue[int] = SendQueue(5)
    queue.put(1)
    queue.close()
    assert not queue.put(2)
    assert await queue.take() == [1]
    with pytest.raises(QueueClosed):
        await queue.take()


async def test_close_with_discard_wakes_a_waiting_taker() -> None:
    queue: SendQueue[int] = SendQueue(5)
    taker = asyncio.ensure_future(queue.take())
    await asyncio.sleep(0)
    queue.close(discard=True)
    with pytest.raises(QueueClosed):
        await taker


async def test_put_unbounded_ignores_the_limit() -> None:
    queue: SendQueue[int] = SendQueue(1)
    queue.put(1)
    queue.put_unbounded(2)
    assert await queue.take() == [1, 2]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SendQueue(0)
