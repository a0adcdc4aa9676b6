"""The application of the kanban tutorial (docs/tutorial.md)."""

from typing import Any

from tidal import Tidal


def create_app(settings: dict[str, Any] | None = None) -> Tidal:
    """The tests make one per test, with a database of its own."""
    return Tidal(
        apps=["kanban", "tidal.auth", "tidal.sessions", "tidal.realtime"], settings=settings
    )


app = create_app()
