"""Sessions in process memory: the zero-configuration default for one process.

Sessions are lost on restart and not shared between worker processes; install the
``tidal.sessions`` app (the database store) or set ``TIDAL_REDIS_URL`` for that.
``tidal check --deploy`` warns about it.
"""

from __future__ import annotations

import time

from tidal.sessions.backends.base import SessionStore

_SWEEP_EVERY = 1024


class MemorySessionStore(SessionStore):
    """A dict of ``key -> (expires_at, value)``; expired records are dropped when read and
    swept every 1024 writes, so memory stays bounded by the live sessions."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._writes = 0

    async def get(self, key: str) -> bytes | None:
        found = self._data.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            self._data.pop(key, None)
            return None
        return found[1]

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self._data[key] = (time.monotonic() + ttl, value)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            await self.clear_expired()

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def clear_expired(self) -> int:
        now = time.monotonic()
        expired = [key for key, (deadline, _) in self._data.items() if deadline <= now]
        for key in expired:
            del self._data[key]
        return len(expired)

    def __len__(self) -> int:
        return len(self._data)


__all__ = ["MemorySessionStore"]
