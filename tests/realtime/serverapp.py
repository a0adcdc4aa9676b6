"""An application served by real uvicorn processes in the realtime tests (and tidal.js's
browser test). Configured by TIDAL_* environment variables (TIDAL_REDIS_URL, ...)."""

from __future__ import annotations

import os
from typing import Any

from tidal import HTMLResponse, Response, Tidal
from tidal.realtime import Channels, Socket, install

app = Tidal(
    settings={
        "secret_key": "realtime-" + "s3cr3t-K3y!" * 5,
        "allowed_hosts": ["127.0.0.1", "localhost"],
        "debug": True,
    }
)
channels = install(app)


@app.channel("room:{name}", presence=True)
async def room(socket: Socket, topic: str, payload: dict[str, Any] | None = None) -> Any:
    if payload and payload.get("name"):
        await socket.track(topic, {"name": payload["name"], "colour": payload.get("colour")})
    return {"worker": os.getpid()}


@room.on("say")
async def say(socket: Socket, topic: str, payload: Any) -> dict[str, bool]:
    await socket.broadcast(topic, "said", payload)
    return {"ok": True}


@app.post("/publish/{name}")
async def publish(name: str, channels: Channels, count: int = 1, size: int = 0) -> dict[str, Any]:
    ids = [
        await channels.publish(f"room:{name}", "said", {"n": n, "pad": "x" * size})
        for n in range(count)
    ]
    return {"ids": ids, "worker": os.getpid()}


@app.get("/stats")
async def stats(channels: Channels, room: str = "") -> dict[str, Any]:
    members = channels.hub.members(f"room:{room}") if channels.started and room else 0
    return {"sockets": len(channels.sockets), "members": members, "worker": os.getpid()}


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>tidal.js test</title></head>
<body>
<ul id="log"></ul>
<script type="module" src="/page.js"></script>
</body></html>
"""

# An external script: the default Content-Security-Policy refuses inline ones.
SCRIPT = """
import { connect } from "/_tidal/static/tidal/tidal.js";
const params = new URLSearchParams(location.search);
const socket = connect({ heartbeat: 1000, backoff: { min: 100, max: 500 } });
const room = socket.channel("room:" + (params.get("room") || "main"),
                            { name: params.get("name") || "anon", colour: "red" });
window.tidal = { socket, room, said: [], presence: {}, gone: 0, statuses: [] };
room.on("said", (data) => {
  window.tidal.said.push(data.text);
  const li = document.createElement("li");
  li.textContent = data.text;
  document.getElementById("log").append(li);
});
room.onPresence((state) => { window.tidal.presence = state; });
room.onGone(() => { window.tidal.gone += 1; });
socket.onStatus((status) => { window.tidal.statuses.push(status); });
room.join();
window.say = (text) => room.push("say", { text });
"""


@app.get("/")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.get("/page.js")
async def script() -> Response:
    return Response(SCRIPT, media_type="text/javascript")
