"""The ``tidal.sessions`` app: install it (``Tidal(apps=["tidal.sessions", ...])``) to keep
sessions in the database. It brings the ``tidal_session`` table (created by
``tidal db migrate``), makes ``session_store = "auto"`` choose the database, checks at
start-up that the table exists, and adds ``tidal sessions clear``. Sessions themselves work
without it (in memory or Redis)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidal.apps import AppConfig

if TYPE_CHECKING:
    from tidal.app import Tidal


class SessionsApp(AppConfig):
    label = "sessions"

    def ready(self, app: Tidal) -> None:
        from tidal.sessions.stores import check_store_at_startup

        async def check() -> None:
            await check_store_at_startup(app)

        app.on_startup(check)


__all__ = ["SessionsApp"]
