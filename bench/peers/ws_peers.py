"""Which peers serve the WebSocket workloads (``ws_fanout``, ``ws_idle``), and how.

Kept apart from the HTTP registry (``bench/peers/__init__.py``): an HTTP peer serves
the WebSocket workloads from another app (``WsEndpoint.app``), and the peers that exist
only for WebSockets (Node ``ws``, Socket.IO, Django Channels on its in-memory and its Redis
channel layer) are added to ``PEERS`` from here and serve no HTTP workload. A (peer,
workload) pair that does not apply is not run.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from bench.peers import Peer


@dataclass(frozen=True)
class WsEndpoint:
    """Where a peer's subscribers connect and which client dialect they speak
    (``bench/ws_client.py:DIALECTS``). ``app``/``server`` override the peer's own."""

    path: str
    dialect: str = "json"
    app: str | None = None
    server: str | None = None


_NODE_ENV = MappingProxyType({"NODE_ENV": "production"})
_TIDAL_WS = "bench.peers.tidal_ws:app"
_CHANNELS = "bench.peers.django_channels.asgi:application"
_CHANNELS_REDIS = "bench.peers.django_channels.asgi_redis:application"

WS_ONLY_PEERS: tuple[Peer, ...] = (
    Peer(
        "node-ws",
        "bench/node/ws.js",
        server="node",
        asgi=False,
        description="Node `ws` 8 on http.Server: a Set per topic, one send per client",
        env=_NODE_ENV,
        quick=True,
    ),
    Peer(
        "socketio",
        "bench/node/socketio.js",
        server="node",
        asgi=False,
        description="Socket.IO 4 rooms, io.to(room).emit; WebSocket transport only",
        env=_NODE_ENV,
    ),
    Peer(
        "django-channels",
        _CHANNELS,
        description="Django Channels 4 consumer + group_send, in-memory layer; uvicorn",
        quick=True,
    ),
    Peer(
        "django-channels-redis",
        _CHANNELS_REDIS,
        description="the same Channels project on channels_redis' RedisChannelLayer; uvicorn",
    ),
    Peer(
        "channels-daphne",
        _CHANNELS,
        server="daphne",
        asgi=False,
        description="the same Channels project on daphne (Channels' own server)",
        default=False,
    ),
)

WS_ENDPOINTS: dict[str, WsEndpoint] = {
    "tidal": WsEndpoint("/_tidal/socket", app=_TIDAL_WS),
    "tidal-granian": WsEndpoint("/_tidal/socket", app=_TIDAL_WS),
    "starlette": WsEndpoint("/ws", app="bench.peers.starlette_ws:app"),
    "node-ws": WsEndpoint("/ws"),
    "socketio": WsEndpoint("/socket.io/?EIO=4&transport=websocket", dialect="socketio"),
    "django-channels": WsEndpoint("/ws"),
    "django-channels-redis": WsEndpoint("/ws"),
    "channels-daphne": WsEndpoint("/ws"),
}
"""Peer name -> its WebSocket endpoint, for every peer that serves the WebSocket workloads."""

WS_ONLY = frozenset(p.name for p in WS_ONLY_PEERS)


def serves(peer: str, *, websocket: bool) -> bool:
    """Whether ``peer`` has an implementation of the WebSocket (or the HTTP) workloads."""
    return peer in WS_ENDPOINTS if websocket else peer not in WS_ONLY


__all__ = ["WS_ENDPOINTS", "WS_ONLY", "WS_ONLY_PEERS", "WsEndpoint", "serves"]
