"""Plain Starlette peer for the WebSocket fan-out benchmark: the naive broadcast (a set of
sockets, one ``await send_text`` per socket) Tidal's hub is measured against.

Speaks just enough of Tidal's channel protocol for ``bench.ws_fanout``'s client: any first
message is answered with a reply frame, then every publish is sent to every socket.
"""

from __future__ import annotations

import json
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

sockets: set[WebSocket] = set()


async def channel_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()  # the join
    await websocket.send_text('{"type":"reply","ref":1,"status":"ok"}')
    sockets.add(websocket)
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sockets.discard(websocket)


async def publish(request: Request) -> JSONResponse:
    size = int(request.query_params.get("size", 0))
    seq = int(request.query_params.get("seq", 0))
    text = json.dumps(
        {
            "type": "event",
            "topic": "bench:all",
            "event": "tick",
            "data": {"seq": seq, "sent": time.monotonic(), "pad": "x" * size},
        }
    )
    for websocket in list(sockets):
        await websocket.send_text(text)
    return JSONResponse({"ok": True})


async def count(request: Request) -> JSONResponse:
    return JSONResponse({"sockets": len(sockets)})


app = Starlette(
    routes=[
        WebSocketRoute("/_tidal/socket", channel_socket),
        Route("/publish", publish, methods=["POST"]),
        Route("/count", count),
    ]
)
