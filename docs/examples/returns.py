"""What a handler may return, and the response each value becomes."""

import msgspec

from tidal import HTMLResponse, Response, StreamingResponse, Tidal, redirect

app = Tidal()


class Board(msgspec.Struct):
    id: int
    title: str


@app.get("/dict")
async def as_dict() -> dict[str, int]:
    return {"answer": 42}  # application/json


@app.get("/struct")
async def as_struct() -> Board:
    return Board(1, "Roadmap")  # application/json, encoded by msgspec


@app.get("/text")
async def as_text() -> str:
    return "plain words"  # text/plain; charset=utf-8


@app.get("/bytes")
async def as_bytes() -> bytes:
    return b"\x89PNG"  # application/octet-stream


@app.delete("/boards/{board_id:int}")
async def as_nothing(board_id: int) -> None:
    return None  # 204 No Content


@app.post("/boards", status_code=201)
async def created() -> Board:
    return Board(2, "New")  # the route's status_code replaces 200


@app.get("/page")
async def page() -> HTMLResponse:
    return HTMLResponse("<h1>Roadmap</h1>")  # any Starlette response passes through


@app.get("/csv")
async def csv() -> Response:
    return Response("id,title\n1,Roadmap\n", media_type="text/csv", headers={"X-Rows": "1"})


@app.get("/numbers")
async def numbers() -> StreamingResponse:
    async def lines():  # type: ignore[no-untyped-def]
        for number in range(3):
            yield f"{number}\n"

    return StreamingResponse(lines(), media_type="text/plain")


@app.post("/login")
async def login() -> Response:
    return redirect("/boards")  # 303 See Other
