"""The interface every session store implements: a key-value store with expiry.

Stores know nothing about cookies, timeouts or what is in a session: they keep opaque
bytes under a key until a time-to-live runs out. ``HttpSession`` does the rest, so a new
store (a database table, memcached) is four small methods.
"""

from __future__ import annotations

import abc


class SessionStore(abc.ABC):
    """Where session records live.

    ``key`` is the SHA-256 of the session id in hex (64 characters; see
    ``tidal.sessions.session.storage_key``), never the id itself; a store may prefix it.
    ``ttl`` is in seconds: after it the record must be gone (or at least never returned by
    ``get``). Every method may be called concurrently from many requests, so ``set`` must
    replace a record in one atomic step.
    """

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The value stored under ``key``, or None when missing or expired."""

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any previous one."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    async def clear_expired(self) -> int:
        """Remove expired records; returns how many. Stores that expire by themselves
        (Redis) need not override it."""
        return 0

    async def close(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Release connections; called at application shutdown."""


__all__ = ["SessionStore"]
