"""The migrations of tidal.sessions (Alembic revisions sessions_0001, ...)."""

__all__: list[str] = []
