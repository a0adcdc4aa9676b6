"""Tidal peer for the WebSocket workloads (``ws_fanout``, ``ws_idle``; bench/README.md).

Written the way docs/topics/realtime.md tells users to: one channel declared with
``@app.channel``, subscribers joining ``bench:all`` over the channel socket, and an HTTP
endpoint publishing to it through the injected ``Channels``. The default stack stays on
(host validation, the socket's origin check, sessions, CSRF, security headers).
"""

from __future__ import annotations

from typing import Any

from tidal import Settings, Tidal
from tidal.realtime import Channels

app = Tidal(
    settings=Settings(
        debug=False,
        secret_key="bench-" + "x" * 50,
        allowed_hosts=["127.0.0.1"],
        access_log=False,
        realtime_idle_timeout=3600.0,  # the benchmark's clients send no heartbeats
    )
)


@app.channel("bench:{name}")
async def bench(name: str) -> None:
    return None


@app.post("/publish")
async def publish(channels: Channels, seq: int = 0, sent: float = 0.0, size: int = 0) -> Any:
    event_id = await channels.publish(
        "bench:all", "tick", {"seq": seq, "sent": sent, "pad": "x" * size}
    )
    return {"id": event_id}


@app.get("/count")
async def count(channels: Channels) -> dict[str, int]:
    return {"sockets": len(channels.sockets)}
