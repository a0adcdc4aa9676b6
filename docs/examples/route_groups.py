"""Route groups: a ``Router`` with a prefix, a name namespace, tags and a guard."""

from typing import Annotated

from tidal import Header, Router, Tidal
from tidal.http.errors import Unauthorized


def require_api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
    if x_api_key != "let-me-in":
        raise Unauthorized("Send a valid X-API-Key header.")


api = Router("/api", name="api", tags=["api"], dependencies=[require_api_key])


@api.get("/")
async def api_index() -> dict[str, str]:
    return {"version": "1"}


@api.get("/boards/{board_id:int}")
async def show_board(board_id: int) -> dict[str, object]:
    return {"id": board_id, "url": app.url_path_for("api:show_board", board_id=board_id)}


# Groups nest: this one answers below /api/admin and its names start with "api:admin:".
admin = Router("/admin", name="admin", tags=["admin"])


@admin.get("/stats")
async def stats() -> dict[str, int]:
    return {"boards": 1}


api.include(admin)

app = Tidal()
app.include(api)


@app.get("/")
async def home() -> dict[str, str]:
    return {"api": app.url_path_for("api:api_index"), "stats": app.url_path_for("api:admin:stats")}
