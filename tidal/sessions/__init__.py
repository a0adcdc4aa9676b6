"""Server-side sessions: ``HttpSession`` (per request, lazy), stores (database, Redis,
memory), and how the application picks one. See docs/topics/security.md#sessions.

Also an installed app: ``Tidal(apps=["tidal.sessions"])`` brings the session table and
makes the database the store."""

from tidal.sessions.backends.base import SessionStore
from tidal.sessions.backends.memory import MemorySessionStore
from tidal.sessions.session import (
    SCOPE_KEY,
    HttpSession,
    SessionConfig,
    SessionNotLoaded,
    get_session,
)
from tidal.sessions.stores import (
    get_session_store,
    register_store,
    set_session_store,
)

__all__ = [
    "SCOPE_KEY",
    "HttpSession",
    "MemorySessionStore",
    "SessionConfig",
    "SessionNotLoaded",
    "SessionStore",
    "get_session",
    "get_session_store",
    "register_store",
    "set_session_store",
]


def __getattr__(name: str) -> object:
    # The Redis and database stores import redis-py and SQLAlchemy, which ``import tidal``
    # must not pay for.
    if name == "RedisSessionStore":
        from tidal.sessions.backends.redis import RedisSessionStore

        return RedisSessionStore
    if name == "DatabaseSessionStore":
        from tidal.sessions.backends.database import DatabaseSessionStore

        return DatabaseSessionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
