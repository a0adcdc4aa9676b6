"""Sessions in Redis: shared by every worker on every host, expired by Redis itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidal.sessions.backends.base import SessionStore

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisSessionStore(SessionStore):
    """One Redis string per session, ``SET key value EX ttl``.

    Args:
        client: a ``redis.asyncio.Redis`` client, or a URL to create one from (then the
            store owns it and closes it at shutdown).
        prefix: prepended to every key, so several applications can share a database.
    """

    def __init__(self, client: Redis | str, *, prefix: str = "tidal:session:") -> None:
        if isinstance(client, str):
            from redis.asyncio import Redis as RedisClient

            self.client: Redis = RedisClient.from_url(client)
            self._owns_client = True
        else:
            self.client = client
            self._owns_client = False
        self.prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(self.prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        await self.client.set(self.prefix + key, value, ex=max(1, ttl))

    async def delete(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()


__all__ = ["RedisSessionStore"]
