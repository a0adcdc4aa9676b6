"""``tidal routes``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import Result

Invoke = Callable[..., Result]
WriteProject = Callable[..., Path]

APP = """
    from starlette.responses import PlainTextResponse

    from tidal import Router, Tidal, WebSocket

    app = Tidal(settings={"openapi_url": None})
    api = Router("/api", name="api")


    @app.get("/")
    async def home() -> str:
        return "home"


    @api.route("/items/{item_id:int}", methods=["GET", "PUT"], name="item")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}


    @app.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()


    class Views:
        async def report(self) -> str:
            return "report"


    app.get("/report")(Views().report)
    app.include(api)
    app.mount("/legacy", PlainTextResponse("old"), name="legacy")

    admin = Tidal(settings={"openapi_url": None})


    @admin.get("/users")
    async def users() -> list[str]:
        return []


    app.mount("/admin", admin, name="admin")
"""


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[2:]]


def test_table_of_routes(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP})
    result = invoke("routes")
    assert result.exit_code == 0, result.output
    header, rule = result.output.splitlines()[:2]
    assert header.split() == ["METHODS", "PATH", "NAME", "HANDLER"]
    assert set(rule) == {"-", " "}
    assert rows(result.output) == [
        ["GET", "/", "home", "app:home"],
        ["MOUNT", "/admin/*", "admin", "tidal.app:Tidal"],
        ["GET", "/admin/users", "admin:users", "app:users"],
        ["GET,PUT", "/api/items/{item_id:int}", "api:item", "app:item"],
        ["MOUNT", "/legacy/*", "legacy", "starlette.responses:PlainTextResponse"],
        ["WS", "/live", "live", "app:live"],
        ["GET", "/report", "report", "app:Views.report"],
    ]


def test_sort_by_name_and_declaration_order(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": APP})
    by_name = [row[-2] for row in rows(invoke("routes", "--sort", "name").output)]
    assert by_name == sorted(by_name)
    declared = [row[-2] for row in rows(invoke("routes", "--sort", "none").output)]
    assert declared[:3] == ["home", "live", "report"]


def test_no_routes(invoke: Invoke, project: WriteProject) -> None:
    project({"app.py": "from tidal import Tidal\napp = Tidal(settings={'openapi_url': None})\n"})
    assert "No routes" in invoke("routes").output
