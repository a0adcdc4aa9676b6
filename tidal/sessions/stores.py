"""Choosing the session store from the settings, once per application."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tidal.exceptions import ImproperlyConfigured
from tidal.sessions.backends.base import SessionStore
from tidal.sessions.backends.memory import MemorySessionStore

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.conf.settings import Settings

STATE_KEY = "tidal.sessions.store"
HOOK_KEY = "tidal.sessions.close_hook"
StoreFactory = Callable[["Settings"], SessionStore]


def _redis(settings: Settings) -> SessionStore:
    if not settings.redis_url:
        raise ImproperlyConfigured(
            "TIDAL_SESSION_STORE=redis needs TIDAL_REDIS_URL (e.g. redis://localhost:6379/0)."
        )
    from tidal.sessions.backends.redis import RedisSessionStore

    return RedisSessionStore(settings.redis_url, prefix=settings.session_key_prefix)


_factories: dict[str, StoreFactory] = {
    "memory": lambda settings: MemorySessionStore(),
    "redis": _redis,
}


def register_store(name: str, factory: StoreFactory) -> None:
    """Make ``session_store = name`` build its store with ``factory(settings)`` (how the
    data layer adds ``"database"``)."""
    _factories[name] = factory


def available_stores() -> list[str]:
    """The names ``session_store`` accepts besides "auto"."""
    return sorted(_factories)


def store_name(settings: Settings) -> str:
    """The store the settings select; "auto" is Redis when ``redis_url`` is set."""
    name = settings.session_store
    if name == "auto":
        return "redis" if settings.redis_url else "memory"
    return name


def create_store(settings: Settings) -> SessionStore:
    name = store_name(settings)
    factory = _factories.get(name)
    if factory is None:
        raise ImproperlyConfigured(
            f"TIDAL_SESSION_STORE={settings.session_store!r} is not a session store; use "
            f"one of auto, {', '.join(sorted(_factories))}."
        )
    return factory(settings)


def get_session_store(app: Tidal) -> SessionStore:
    """The application's store, created on first use (inside the serving event loop)."""
    store = app.state.get(STATE_KEY)
    if store is None:
        store = app.state[STATE_KEY] = create_store(app.settings)
        _close_at_shutdown(app)
    assert isinstance(store, SessionStore)
    return store


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
    "StoreFactory",
    "available_stores",
    "close_session_store",
    "create_store",
    "get_session_store",
    "register_store",
    "set_session_store",
    "store_name",
]
