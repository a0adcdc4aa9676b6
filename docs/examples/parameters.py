"""Where handler parameters come from: path, query, headers, cookies and the JSON body."""

from typing import Annotated

import msgspec

from tidal import Body, Cookie, Header, Query, Tidal

app = Tidal()


class Card(msgspec.Struct):
    title: str
    points: int = 1
    labels: list[str] = []


class Paging(msgspec.Struct):
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    size: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


@app.get("/boards/{board_id:int}/cards")
async def list_cards(
    board_id: int,  # named in the path
    search: str | None = None,  # a scalar: the query string, ?search=...
    limit: int = 20,  # converted and validated: ?limit=abc is a 422
    label: Annotated[list[str], Query()] = [],  # repeated: ?label=a&label=b  # noqa: B006
    user_agent: Annotated[str, Header()] = "unknown",  # the User-Agent header
    theme: Annotated[str, Cookie()] = "light",  # the "theme" cookie
) -> dict[str, object]:
    return {
        "board": board_id,
        "search": search,
        "limit": limit,
        "labels": label,
        "agent": user_agent,
        "theme": theme,
    }


@app.post("/boards/{board_id:int}/cards", status_code=201)
async def add_card(board_id: int, card: Card) -> dict[str, object]:
    # ``card`` is a msgspec Struct, so it is the JSON body, decoded and validated.
    return {"board": board_id, "card": card}


@app.get("/search")
async def search(
    text: Annotated[str, Query("q")],  # a different name on the wire: ?q=...
    year: Annotated[int, msgspec.Meta(ge=2000)] = 2024,  # constraints are checked too
    trace: Annotated[str | None, Header("x-trace-id")] = None,
) -> dict[str, object]:
    return {"q": text, "year": year, "trace": trace}


@app.get("/archive")
async def archive(paging: Annotated[Paging, Query()]) -> Paging:
    # A Struct marked Query() is filled from the whole query string: ?page=2&size=50.
    return paging


@app.put("/notes/{note_id:int}")
async def replace_note(note_id: int, text: Annotated[str, Body()]) -> str:
    # Body() on a str is the raw body as text (text/plain); on bytes, the raw bytes.
    return f"note {note_id}: {text}"
