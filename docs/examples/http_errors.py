"""Raising HTTP errors, and what bad input looks like to a client."""

import msgspec

from tidal import HTTPError, Tidal
from tidal.http.errors import FieldError, NotFound, TooManyRequests, ValidationFailed

app = Tidal(settings={"max_body_size": 1024})
BOARDS = {1: "Roadmap"}


class Order(msgspec.Struct):
    item: str
    quantity: int
    address: str


@app.get("/boards/{board_id:int}")
async def show_board(board_id: int) -> dict[str, object]:
    if board_id not in BOARDS:
        raise NotFound(f"No board {board_id}.")
    return {"id": board_id, "title": BOARDS[board_id]}


@app.get("/teapot")
async def teapot() -> None:
    raise HTTPError(418, "This server only brews tea.", headers={"X-Brew": "tea"})


@app.get("/busy")
async def busy() -> None:
    raise TooManyRequests("Slow down.", headers={"Retry-After": "30"})


@app.post("/orders", status_code=201)
async def place_order(order: Order) -> Order:
    if order.quantity < 1:
        raise ValidationFailed([FieldError("$.quantity", "Must be at least 1.", "body")])
    return order


@app.get("/crash")
async def crash() -> None:
    raise RuntimeError("the database is on fire")
