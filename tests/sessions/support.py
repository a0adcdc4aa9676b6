"""A store that counts calls, and an app exercising sessions through GET routes."""

from __future__ import annotations

from collections import Counter

from tidal import Request, Tidal
from tidal.sessions import HttpSession, SessionStore, set_session_store
from tidal.sessions.stores import create_store


class CountingStore(SessionStore):
    """Wraps the store the settings select and counts every call."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    async def get(self, key: str) -> bytes | None:
        self.calls["get"] += 1
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self.calls["set"] += 1
        await self.inner.set(key, value, ttl)

    async def delete(self, key: str) -> None:
        self.calls["delete"] += 1
        await self.inner.delete(key)

    async def close(self) -> None:
        await self.inner.close()


def session_routes(app: Tidal) -> CountingStore:
    store = CountingStore(create_store(app.settings))
    set_session_store(app, store)

    @app.get("/plain")
    async def plain() -> dict[str, bool]:
        return {"plain": True}

    @app.get("/set")
    async def set_value(session: HttpSession, key: str, value: str) -> dict[str, str]:
        session[key] = value
        return dict(session)

    @app.get("/get")
    async def get_values(session: HttpSession) -> dict[str, str]:
        return {k: v for k, v in session.items() if not k.startswith("tidal.")}

    @app.get("/delete")
    async def delete_value(session: HttpSession, key: str) -> dict[str, str]:
        del session[key]
        return dict(session)

    @app.get("/rotate")
    async def rotate(session: HttpSession) -> dict[str, str | None]:
        await session.rotate()
        return {"id": session.id}

    @app.get("/flush")
    async def flush(request: Request) -> None:
        await request.scope["tidal.session"].flush()

    @app.get("/boom")
    async def boom(session: HttpSession) -> None:
        session["half"] = "written"
        raise RuntimeError("handler failed")

    return store
