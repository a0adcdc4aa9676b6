"""The Channels project's settings with the channel layer Channels' docs deploy: Redis.

``channels_redis.core.RedisChannelLayer``, the layer Channels' tutorial (part 2) and its
"Channel Layers" page configure, and the one ``channels_redis`` itself calls stable; its
``RedisPubSubChannelLayer`` is documented as beta. Defaults otherwise (capacity 100,
expiry 60 s, msgpack), except two connection settings that redis-py 8 (installed here;
Tidal's own Redis backend accepts 5.2 and later) changed under ``channels_redis`` 4.3,
passed in the host-dict form its README documents:

- ``socket_timeout: None``. redis-py 8 reads with a 5 s timeout by default (before:
  none), the same 5 s the layer's blocking ``BZPOPMIN`` waits, so whenever no message
  arrives for 5 s the consumer holding the receive lock dies with ``TimeoutError: Timeout
  reading from 127.0.0.1:6379`` and its socket is closed (django/channels_redis#422,
  redis/redis-py#4091; the workaround given there).
- ``max_connections: 1000``. redis-py 8 caps a pool at 100 connections by default (before:
  2**31); with that cap a hundred subscribers joining at once (a ``group_add`` each) make
  ``group_add`` raise ``MaxConnectionsError: Too many connections`` and the server close
  the socket. 1,000 stays well under Redis's default limit of 10,000 clients.

The benchmark's Redis is ``BENCH_CHANNELS_REDIS_URL`` (default database 14 of the local
server, apart from the test suite's 15) under key prefix ``BENCH_CHANNELS_REDIS_PREFIX``;
``asgi_redis`` empties that prefix when the server starts, so every round starts with an
empty group, as a fresh deployment would.
"""

from __future__ import annotations

import os

from bench.peers.django_channels.settings import *  # noqa: F403

REDIS_URL = os.environ.get("BENCH_CHANNELS_REDIS_URL", "redis://127.0.0.1:6379/14")
REDIS_PREFIX = os.environ.get("BENCH_CHANNELS_REDIS_PREFIX", "bench-channels")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": None, "max_connections": 1000}],
            "prefix": REDIS_PREFIX,
        },
    }
}
