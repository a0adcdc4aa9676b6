"""The migrations of tidal.auth (Alembic revisions auth_0001, ...)."""

__all__: list[str] = []
