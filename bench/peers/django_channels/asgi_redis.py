"""ASGI entry of the Channels project on the Redis channel layer (``settings_redis``).

The same application as ``asgi.py``; before it is built, the layer's keys left in Redis by
an earlier server (a group still naming that server's channels) are deleted, and a Redis
that does not answer stops the server at startup with the address it tried.
"""

from __future__ import annotations

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peers.django_channels.settings_redis"

import redis

from bench.peers.django_channels import settings_redis


def _empty_layer(url: str, prefix: str) -> int:
    """Delete every key under the layer's prefix; how many there were."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    except redis.RedisError as exc:
        raise RuntimeError(f"django-channels-redis needs Redis at {url}: {exc}") from exc
    finally:
        client.close()


_empty_layer(settings_redis.REDIS_URL, settings_redis.REDIS_PREFIX)

from bench.peers.django_channels.asgi import application  # noqa: E402

__all__ = ["application"]
