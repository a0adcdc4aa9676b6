"""Routes the auth tests call."""

from __future__ import annotations

from typing import Any

from tidal import Request, Tidal, WebSocket
from tidal.auth import (
    BaseUser,
    User,
    get_user,
    login_required,
    permission_required,
    staff_required,
)


def add_routes(app: Tidal) -> None:
    @app.get("/me")
    async def me(request: Request, user: BaseUser) -> dict[str, Any]:
        return {
            "authenticated": user.is_authenticated,
            "username": user.username,
            "in_scope": request.scope.get("tidal.user") is user,
        }

    @app.get("/private")
    async def private(user: User) -> dict[str, Any]:
        return {"username": user.username}

    @app.post("/api/notes")
    async def create_note(user: User) -> dict[str, Any]:
        return {"by": user.username}

    @app.get("/guarded", dependencies=[login_required])
    async def guarded() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/staff", dependencies=[staff_required])
    async def staff() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/edit", dependencies=[permission_required("blog.change_post")])
    async def edit() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/plain")
    async def plain() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/manual")
    async def manual(request: Request) -> dict[str, Any]:
        user = await get_user(request)  # no db: a short session of its own
        perms = sorted(await user.get_permissions()) if isinstance(user, User) else []
        return {"username": user.username, "perms": perms}

    @app.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        user = await get_user(websocket)  # the same session cookie as HTTP
        await websocket.accept()
        await websocket.send_json({"username": user.username})
        await websocket.close()
