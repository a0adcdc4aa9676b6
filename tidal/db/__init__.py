"""Models, sessions and migrations on SQLAlchemy 2 (asyncio): SQLite by default, PostgreSQL
to scale. See docs/topics/models.md.

``import tidal.db`` is cheap: the names backed by SQLAlchemy (``Model``, ``Session``, the
helpers) are imported on first access, so an application that never uses the database
never loads SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tidal.db.exceptions import DatabaseError as DatabaseError
from tidal.db.exceptions import DatabaseUnavailable as DatabaseUnavailable
from tidal.db.lifecycle import Database as Database
from tidal.db.lifecycle import DatabaseConfig as DatabaseConfig
from tidal.db.lifecycle import database as database
from tidal.db.lifecycle import install as install
from tidal.db.lifecycle import session as session

if TYPE_CHECKING:
    from tidal.db.changes import Change as Change
    from tidal.db.changes import after_commit as after_commit
    from tidal.db.changes import off_commit as off_commit
    from tidal.db.changes import on_commit as on_commit
    from tidal.db.models import READ_ONLY as READ_ONLY
    from tidal.db.models import Model as Model
    from tidal.db.models import TimestampMixin as TimestampMixin
    from tidal.db.models import UTCDateTime as UTCDateTime
    from tidal.db.pagination import CursorPage as CursorPage
    from tidal.db.pagination import Page as Page
    from tidal.db.pagination import paginate as paginate
    from tidal.db.pagination import paginate_keyset as paginate_keyset
    from tidal.db.queries import bulk_insert as bulk_insert
    from tidal.db.queries import bulk_update as bulk_update
    from tidal.db.queries import count as count
    from tidal.db.queries import exists as exists
    from tidal.db.queries import first_or_404 as first_or_404
    from tidal.db.queries import get_or_404 as get_or_404
    from tidal.db.schemas import apply as apply
    from tidal.db.schemas import build as build
    from tidal.db.schemas import create_schema as create_schema
    from tidal.db.schemas import dump as dump
    from tidal.db.schemas import schema as schema
    from tidal.db.schemas import update_schema as update_schema
    from tidal.db.sessions import Session as Session

_LAZY: dict[str, str] = {
    "Change": "tidal.db.changes",
    "CursorPage": "tidal.db.pagination",
    "Model": "tidal.db.models",
    "Page": "tidal.db.pagination",
    "READ_ONLY": "tidal.db.models",
    "Session": "tidal.db.sessions",
    "TimestampMixin": "tidal.db.models",
    "UTCDateTime": "tidal.db.models",
    "after_commit": "tidal.db.changes",
    "apply": "tidal.db.schemas",
    "build": "tidal.db.schemas",
    "bulk_insert": "tidal.db.queries",
    "bulk_update": "tidal.db.queries",
    "count": "tidal.db.queries",
    "create_schema": "tidal.db.schemas",
    "dump": "tidal.db.schemas",
    "exists": "tidal.db.queries",
    "first_or_404": "tidal.db.queries",
    "get_or_404": "tidal.db.queries",
    "off_commit": "tidal.db.changes",
    "on_commit": "tidal.db.changes",
    "paginate": "tidal.db.pagination",
    "paginate_keyset": "tidal.db.pagination",
    "schema": "tidal.db.schemas",
    "update_schema": "tidal.db.schemas",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tidal.db' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "READ_ONLY",
    "Change",
    "CursorPage",
    "Database",
    "DatabaseConfig",
    "DatabaseError",
    "DatabaseUnavailable",
    "Model",
    "Page",
    "Session",
    "TimestampMixin",
    "UTCDateTime",
    "after_commit",
    "apply",
    "build",
    "bulk_insert",
    "bulk_update",
    "count",
    "create_schema",
    "database",
    "dump",
    "exists",
    "first_or_404",
    "get_or_404",
    "install",
    "off_commit",
    "on_commit",
    "paginate",
    "paginate_keyset",
    "schema",
    "session",
    "update_schema",
]
