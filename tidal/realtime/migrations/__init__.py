"""The migrations of tidal.realtime (Alembic revisions realtime_0001, ...)."""

__all__: list[str] = []
