"""Choosing the session store from the settings and the installed apps, once per
application.

``session_store = "auto"`` (the default) picks, in order: the database when the
``tidal.sessions`` app is installed (installing it is asking for that); Redis when
``redis_url`` is set; else process memory. Any other value names a store directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tidal.exceptions import ImproperlyConfigured
from tidal.sessions.backends.base import SessionStore
from tidal.sessions.backends.memory import MemorySessionStore

if TYPE_CHECKING:
    from tidal.app import Tidal

STATE_KEY = "tidal.sessions.store"
HOOK_KEY = "tidal.sessions.close_hook"
APP_NAME = "tidal.sessions"
StoreFactory = Callable[["Tidal"], SessionStore]


def _redis(app: Tidal) -> SessionStore:
    settings = app.settings
    if not settings.redis_url:
        raise ImproperlyConfigured(
            "TIDAL_SESSION_STORE=redis needs TIDAL_REDIS_URL (e.g. redis://localhost:6379/0)."
        )
    from tidal.sessions.backends.redis import RedisSessionStore

    return RedisSessionStore(settings.redis_url, prefix=settings.session_key_prefix)


def _database(app: Tidal) -> SessionStore:
    if not database_app_installed(app):
        raise ImproperlyConfigured(
            f"TIDAL_SESSION_STORE=database needs the {APP_NAME!r} app, which owns the "
            f'session table: add it (Tidal(apps=["{APP_NAME}", ...])) and run '
            "`tidal db migrate`."
        )
    from tidal.sessions.backends.database import DatabaseSessionStore

    return DatabaseSessionStore.for_app(app)


_factories: dict[str, StoreFactory] = {
    "database": _database,
    "memory": lambda app: MemorySessionStore(),
    "redis": _redis,
}


def register_store(name: str, factory: StoreFactory) -> None:
    """Make ``session_store = name`` build its store with ``factory(app)``."""
    _factories[name] = factory


def available_stores() -> list[str]:
    """The names ``session_store`` accepts besides "auto"."""
    return sorted(_factories)


def database_app_installed(app: Tidal) -> bool:
    """Whether ``tidal.sessions`` (the owner of the session table) is installed."""
    return any(config.name == APP_NAME for config in app.apps)


def store_name(app: Tidal) -> str:
    """The store ``app`` uses: ``session_store``, with "auto" resolved (module docstring)."""
    settings = app.settings
    name = settings.session_store
    if name != "auto":
        return name
    if database_app_installed(app):
        return "database"
    return "redis" if settings.redis_url else "memory"


def create_store(app: Tidal) -> SessionStore:
    """A new store of the kind ``app``'s settings select."""
    name = store_name(app)
    factory = _factories.get(name)
    if factory is None:
        raise ImproperlyConfigured(
            f"TIDAL_SESSION_STORE={app.settings.session_store!r} is not a session store; use "
            f"one of auto, {', '.join(sorted(_factories))}."
        )
    return factory(app)


def get_session_store(app: Tidal) -> SessionStore:
    """The application's store, created on first use (inside the serving event loop)."""
    store = app.state.get(STATE_KEY)
    if store is None:
        store = app.state[STATE_KEY] = create_store(app)
        _close_at_shutdown(app)
    assert isinstance(store, SessionStore)
    return store


async def check_store_at_startup(app: Tidal) -> None:
    """Fail at start-up, not on the first request, when the database store is selected but
    its table does not exist (the ``tidal.sessions`` app calls it)."""
    if store_name(app) != "database":
        return
    from tidal.sessions.backends.database import DatabaseSessionStore

    store = get_session_store(app)
    if isinstance(store, DatabaseSessionStore):
        await store.check()


def _close_at_shutdown(app: Tidal) -> None:
    """Registered when the first store is created, so apps without sessions have no hook."""
    if not app.state.get(HOOK_KEY):
        app.state[HOOK_KEY] = True

        async def close() -> None:
            await close_session_store(app)

        app.on_shutdown(close)


def set_session_store(app: Tidal, store: SessionStore) -> None:
    """Use ``store`` instead of the one the settings select (custom stores, tests); it is
    closed at shutdown like the default one."""
    app.state[STATE_KEY] = store
    _close_at_shutdown(app)


async def close_session_store(app: Tidal) -> None:
    """Close the store at shutdown; the next start-up creates a fresh one."""
    store = app.state.pop(STATE_KEY, None)
    if isinstance(store, SessionStore):
        await store.close()


__all__ = [
    "APP_NAME",
    "StoreFactory",
    "available_stores",
    "check_store_at_startup",
    "close_session_store",
    "create_store",
    "database_app_installed",
    "get_session_store",
    "register_store",
    "set_session_store",
    "store_name",
]
