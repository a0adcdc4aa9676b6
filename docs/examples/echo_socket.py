"""A WebSocket endpoint: query parameters, a guard that can refuse the handshake."""

from typing import Annotated

from tidal import Query, Tidal, WebSocket
from tidal.http.errors import Forbidden

app = Tidal()


def room_key(key: Annotated[str | None, Query()] = None) -> None:
    if key != "open-sesame":
        raise Forbidden("Wrong room key.")


@app.websocket("/echo")
async def echo(websocket: WebSocket, name: str = "anonymous") -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        if text == "bye":
            await websocket.close(code=4000, reason="Goodbye")
            return
        await websocket.send_json({"from": name, "text": text.upper()})


@app.websocket("/room", dependencies=[room_key])
async def room(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("welcome")
    await websocket.close()


@app.get("/")
async def index() -> dict[str, str]:
    return {"status": "ok"}
