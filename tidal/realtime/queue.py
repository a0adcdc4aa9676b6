"""A bounded send queue: what one connection has yet to write.

The hub fills it without awaiting (``put`` is a plain call, so a broadcast reaches 10,000
sockets without 10,000 suspensions); the connection's writer task drains it. Items are
shared between queues (one encoded frame for every socket), so a queue's memory is its
length in pointers. A full queue refuses the item: its consumer is not keeping up, and the
caller disconnects it rather than letting memory grow.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class QueueClosed(Exception):
    """The queue was closed and everything in it has been taken."""


class SendQueue(Generic[T]):
    """A FIFO of at most ``limit`` items with one consumer.

    Args:
        limit: items held before ``put`` refuses more.
    """

    __slots__ = ("_items", "_waiter", "closed", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("A send queue must hold at least one item.")
        self.limit = limit
        self._items: list[T] = []
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def parked(self) -> bool:
        """The consumer is waiting on an empty, open queue (it has nothing to do)."""
        waiter = self._waiter
        return waiter is not None and not self._items and not waiter.done() and not self.closed

    def put(self, item: T) -> bool:
        """Append ``item``; False (and nothing queued) when full or closed."""
        items = self._items
        if len(items) >= self.limit or self.closed:
            return False
        items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return True

    def put_unbounded(self, item: T) -> None:
        """Append ``item`` even over the limit: for a socket's own replies, whose number
        the socket itself bounds (one per frame it sent)."""
        if self.closed:
            return
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def take(self) -> list[T]:
        """Everything queued, oldest first, waiting for at least one item; raises
        ``QueueClosed`` once closed and empty."""
        while not self._items:
            if self.closed:
                raise QueueClosed
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        items, self._items = self._items, []
        return items

    def close(self, *, discard: bool = False) -> None:
        """Refuse new items; the consumer takes what is left (none with ``discard``)."""
        self.closed = True
        if discard:
            self._items = []
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)


__all__ = ["QueueClosed", "SendQueue"]
