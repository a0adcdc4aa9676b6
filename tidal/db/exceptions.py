"""Errors the database layer raises about itself.

    TidalError
    └── DatabaseError
        └── DatabaseUnavailable (also ConnectionError)   no connection could be opened

Errors of the database server itself (an ``IntegrityError``, a lost connection) stay
SQLAlchemy's; in a request they become HTTP answers (``tidal.db.errors.translate``).
"""

from __future__ import annotations

from tidal.exceptions import TidalError


class DatabaseError(TidalError):
    """Root of the errors ``tidal.db`` raises about itself."""

    code = "database"


class DatabaseUnavailable(DatabaseError, ConnectionError):
    """No connection to the database could be opened: the server is down or unreachable,
    the credentials are wrong, or the SQLite file cannot be opened. In a request this is a
    503 with ``Retry-After``; at start-up it stops the application."""

    code = "database-unavailable"


__all__ = ["DatabaseError", "DatabaseUnavailable"]
