"""Starlette peer for the WebSocket workloads: the naive broadcast a Starlette user writes
(a set of sockets per topic, one ``await send_text`` per socket), which Tidal's hub is
measured against. Speaks the benchmark's JSON protocol (the shape of Tidal's).
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

topics: dict[str, set[WebSocket]] = {}


async def channel_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    joined: list[str] = []
    try:
        while True:
            frame = json.loads(await websocket.receive_text())
            if frame.get("type") == "join" and isinstance(frame.get("topic"), str):
                topics.setdefault(frame["topic"], set()).add(websocket)
                joined.append(frame["topic"])
                reply = {"type": "reply", "ref": frame.get("ref"), "status": "ok"}
                await websocket.send_text(json.dumps(reply))
    except WebSocketDisconnect:
        pass
    finally:
        for topic in joined:
            topics[topic].discard(websocket)


async def publish(request: Request) -> JSONResponse:
    params = request.query_params
    data = {
        "seq": int(params.get("seq", 0)),
        "sent": float(params.get("sent", 0)),
        "pad": "x" * int(params.get("size", 0)),
    }
    text = json.dumps({"type": "event", "topic": "bench:all", "event": "tick", "data": data})
    members = topics.get("bench:all", set())
    for websocket in list(members):
        await websocket.send_text(text)
    return JSONResponse({"delivered": len(members)})


async def count(request: Request) -> JSONResponse:
    return JSONResponse({"sockets": len(topics.get("bench:all", ()))})


app = Starlette(
    routes=[
        WebSocketRoute("/ws", channel_socket),
        Route("/publish", publish, methods=["POST"]),
        Route("/count", count),
    ]
)
