"""Tidal peer for the WebSocket fan-out benchmark (``python -m bench.ws_fanout``).

Written the way docs/topics/realtime.md tells users to: one channel, and an HTTP endpoint
publishing to it through the injected ``Channels``. Every subscriber joins ``bench:all``.
"""

from __future__ import annotations

import time
from typing import Any

from tidal import Settings, Tidal
from tidal.realtime import Channels, install

app = Tidal(
    settings=Settings(
        debug=False,
        secret_key="bench-" + "x" * 50,
        allowed_hosts=["*"],
        access_log=False,
        realtime_idle_timeout=3600.0,  # the benchmark's clients send no heartbeats
    )
)
install(app)


@app.channel("bench:{name}")
async def bench(name: str) -> None:
    return None


@app.post("/publish")
async def publish(channels: Channels, size: int = 0, seq: int = 0) -> dict[str, Any]:
    event_id = await channels.publish(
        "bench:all", "tick", {"seq": seq, "sent": time.monotonic(), "pad": "x" * size}
    )
    return {"id": event_id}


@app.get("/count")
async def count(channels: Channels) -> dict[str, int]:
    return {"sockets": len(channels.sockets)}
