"""``HttpSession``: one browser's server-side session, loaded only when something asks.

Named ``HttpSession`` (not ``Session``) because ``tidal.db.Session`` is the database unit of
work handlers also receive by type; the two must never be confused in a signature.

The cookie holds only a random id (``secrets.token_urlsafe(32)``: 256 bits); the data stays
in a ``SessionStore``, under the SHA-256 of the id (``storage_key``), so a copy of the store
(a backup, a leaked dump) holds no cookie that logs anyone in. An id the server did not issue
is never adopted: writing to a session whose cookie names no live record starts a new one
under a fresh id, so an attacker cannot plant a known id in a victim's browser (session
fixation).

During an HTTP request the writes a session makes by itself (saving, and deleting the record
a rotation or a flush left behind) wait until the response starts, after the handler's database
transaction has ended: a database store never queues behind that transaction's locks (on
SQLite, a request that wrote rows and then logs a user in would otherwise wait for itself).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import cookie_parser

from tidal.exceptions import ImproperlyConfigured
from tidal.middleware.hooks import add_response_hook
from tidal.sessions.backends.base import SessionStore
from tidal.types import Scope

if TYPE_CHECKING:
    from tidal.conf.settings import Settings

SCOPE_KEY = "tidal.session"
# Session data keys starting with "tidal." belong to the framework (CSRF secret, auth).
CSRF_SECRET_KEY = "tidal.csrf"  # noqa: S105 - a dict key, not a secret
_VALID_ID = re.compile(r"[A-Za-z0-9_-]{43}")
SAMESITE_VALUES = ("lax", "strict", "none")


def storage_key(session_id: str) -> str:
    """The key a session is stored under: the SHA-256 of its id, in hex. The id is 256
    random bits, so an unsalted fast hash is enough: there is nothing to guess."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


class SessionNotLoaded(RuntimeError):
    """The session was read or written before ``await session.load()``."""


@dataclasses.dataclass(frozen=True)
class SessionConfig:
    """How session cookies are set and when sessions expire (from the settings)."""

    cookie_name: str = "tidal_session"
    idle_timeout: int = 1_209_600
    absolute_timeout: int = 2_592_000
    secure: bool = False
    samesite: str = "lax"
    domain: str | None = None
    path: str = "/"

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionConfig:
        samesite = settings.session_cookie_samesite.lower()
        if samesite not in SAMESITE_VALUES:
            raise ImproperlyConfigured(
                f"TIDAL_SESSION_COOKIE_SAMESITE={settings.session_cookie_samesite!r} must be "
                "one of lax, strict, none."
            )
        return cls(
            cookie_name=settings.session_cookie_name,
            idle_timeout=settings.session_idle_timeout,
            absolute_timeout=settings.session_absolute_timeout,
            secure=settings.https,
            samesite=samesite,
            domain=settings.session_cookie_domain,
        )

    @property
    def refresh_after(self) -> float:
        """Seconds of use after which a read-only session is re-saved to push back its idle
        expiry: often enough to be accurate, rarely enough not to write on every request."""
        return max(1.0, min(300.0, self.idle_timeout / 100))

    def cookie(self, value: str, max_age: int, *, secure: bool) -> bytes:
        """A ``Set-Cookie`` value: HttpOnly always, Secure on HTTPS or with ``https``."""
        parts = [f"{self.cookie_name}={value}", f"Path={self.path}", f"Max-Age={max_age}"]
        if max_age == 0:
            parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        if self.domain:
            parts.append(f"Domain={self.domain}")
        parts.append("HttpOnly")
        parts.append(f"SameSite={self.samesite.capitalize()}")
        if secure or self.secure or self.samesite == "none":
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")


class _Record(msgspec.Struct, array_like=True):
    data: dict[str, Any]
    created: float
    refreshed: float


_encode = msgspec.json.Encoder().encode
_decoder = msgspec.json.Decoder(_Record)
_NO_DATA: dict[str, Any] = {}  # shared by unloaded sessions, never written to


class HttpSession(MutableMapping[str, Any]):
    """A browser's session: a dict of JSON values kept on the server.

    Nothing is read from the store until ``await session.load()`` (handlers that take a
    ``session: HttpSession`` parameter get it loaded), and nothing is written unless the
    data changed or the idle expiry needs pushing back. Changes are saved when the
    response starts; mutating a nested value in place needs ``session.mark_modified()``.

    Args:
        store: the store, or a function returning it (created on first use).
        config: cookie and expiry settings.
        scope: the request scope, read for the session cookie when first needed.
    """

    # Class-level defaults: one is created for every request, most are never loaded, so
    # construction sets only what it must.
    _cookie_id: str | None = None
    _cookie_read = False
    _loaded = False
    _id: str | None = None
    _created = 0.0
    _refreshed = 0.0
    _modified = False
    _flushed = False
    _stale: list[str] | None = None  # ids whose records are deleted when the response starts

    def __init__(
        self,
        store: SessionStore | Callable[[], SessionStore],
        config: SessionConfig,
        scope: Scope | None = None,
    ) -> None:
        self._store = store
        self.config = config
        self._scope = scope
        self._data: dict[str, Any] = _NO_DATA

    # -- state ------------------------------------------------------------------------

    @property
    def store(self) -> SessionStore:
        store = self._store
        return store if isinstance(store, SessionStore) else store()

    @property
    def cookie_id(self) -> str | None:
        """The session id the client sent in its cookie (not yet verified), if any."""
        if not self._cookie_read:
            self._cookie_read = True
            headers = self._scope["headers"] if self._scope is not None else ()
            for key, value in headers:
                if key == b"cookie":
                    found = cookie_parser(value.decode("latin-1")).get(self.config.cookie_name)
                    if found:
                        self._cookie_id = found
                    break
        return self._cookie_id

    @property
    def id(self) -> str | None:
        """The id of the stored session; None for a new one (until it is saved)."""
        return self._id

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def modified(self) -> bool:
        return self._modified

    @property
    def is_new(self) -> bool:
        """The session has no id yet: no cookie, an unknown or expired id, or flushed."""
        return self._id is None

    def mark_modified(self) -> None:
        """Save at the end of the request even though no key was set or deleted."""
        self._modified = True

    # -- loading and saving -----------------------------------------------------------

    async def load(self) -> HttpSession:
        """Read the session from the store (once); returns ``self``."""
        if self._loaded:
            return self
        cookie = self.cookie_id
        record: _Record | None = None
        if cookie is not None and _VALID_ID.fullmatch(cookie):
            raw = await self.store.get(storage_key(cookie))
            if raw is not None:
                try:
                    record = _decoder.decode(raw)
                except msgspec.DecodeError:
                    record = None
        if self._loaded:  # another task loaded (or flushed) it while this one waited
            return self
        self._mark_loaded()
        self._data = {}
        if record is not None:
            now = time.time()
            if (
                now - record.refreshed <= self.config.idle_timeout
                and now - record.created <= self.config.absolute_timeout
            ):
                self._id = cookie
                self._data = record.data
                self._created = record.created
                self._refreshed = record.refreshed
        return self

    def _ttl(self, now: float) -> int:
        remaining = self.config.absolute_timeout - (now - self._created)
        return max(1, round(min(self.config.idle_timeout, remaining)))

    async def save(self) -> None:
        """Write the session now: under a fresh id when it is new, deleting the stored
        record instead when it holds no data."""
        self._require_loaded()
        await self._delete_stale()
        now = time.time()
        if not self._data:
            if self._id is not None:
                await self.store.delete(storage_key(self._id))
                self._id = None
            self._modified = False
            return
        if self._id is None:
            self._id = secrets.token_urlsafe(32)
            self._created = now
        self._refreshed = now
        try:
            value = _encode(_Record(self._data, self._created, self._refreshed))
        except TypeError as exc:
            raise TypeError(
                f"Session data must be JSON values (str, int, float, bool, None, lists and "
                f"dicts of them): {exc}"
            ) from None
        await self.store.set(storage_key(self._id), value, self._ttl(now))
        self._modified = False

    async def rotate(self) -> None:
        """Move the data to a new id (``session.id`` at once) and renew the CSRF secret:
        call at login and whenever privileges change, so an id (or CSRF token) learned
        before is worthless. The old record is deleted, and the new one stored, when the
        response starts."""
        await self.load()
        if self._id is not None:
            await self._forget(self._id)
        self._id = secrets.token_urlsafe(32)
        self._created = time.time()
        self._data.pop(CSRF_SECRET_KEY, None)
        self._modified = True

    async def flush(self) -> None:
        """Clear the data and delete the session on the server (when the response starts,
        whatever its status), and expire the cookie. Call at logout: the old id is dead
        even if someone copied it."""
        session_id = self._id if self._loaded else self.cookie_id
        if session_id is not None and _VALID_ID.fullmatch(session_id):
            await self._forget(session_id)
        self._mark_loaded()
        self._data = {}
        self._id = None
        self._modified = False
        self._flushed = True

    async def _forget(self, session_id: str) -> None:
        """Delete ``session_id``'s record: when the response starts if this session belongs
        to an HTTP request (see the module docstring), else now."""
        if self._scope is not None and self._scope.get("type") == "http":
            if self._stale is None:
                self._stale = []
            self._stale.append(session_id)
        else:
            await self.store.delete(storage_key(session_id))

    async def _delete_stale(self) -> None:
        stale, self._stale = self._stale, None
        for session_id in stale or ():
            await self.store.delete(storage_key(session_id))

    def _mark_loaded(self) -> None:
        """From now on the response must save the session and set its cookie: ask the
        outer middleware to call back when the response starts (see middleware.hooks)."""
        if self._loaded:
            return
        self._loaded = True
        if self._scope is not None and self._scope.get("type") == "http":
            add_response_hook(self._scope, self._on_response)

    async def _on_response(self, status: int) -> list[tuple[bytes, bytes]]:
        secure = self._scope is not None and self._scope.get("scheme") == "https"
        return await self.response_headers(status, secure=secure)

    async def response_headers(self, status: int, *, secure: bool) -> list[tuple[bytes, bytes]]:
        """Save if needed and return the headers the response must carry (``Vary``,
        ``Set-Cookie``); called by ``SessionMiddleware`` when the response starts."""
        if not self._loaded:
            return []
        headers = [(b"vary", b"Cookie")]
        if self._stale:  # a rotation or logout is carried out even by a failed request
            await self._delete_stale()
        if status >= 500:
            return headers
        if self._modified or (
            self._id is not None and time.time() - self._refreshed > self.config.refresh_after
        ):
            await self.save()
        if self._id is not None and self._id != self.cookie_id:
            max_age = self._ttl_cookie()
            headers.append((b"set-cookie", self.config.cookie(self._id, max_age, secure=secure)))
        elif self._id is None and self.cookie_id is not None:
            headers.append((b"set-cookie", self.config.cookie('""', 0, secure=secure)))
        return headers

    def _ttl_cookie(self) -> int:
        remaining = self.config.absolute_timeout - (time.time() - self._created)
        return max(1, round(remaining))

    # -- the mapping ------------------------------------------------------------------

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise SessionNotLoaded(
                "The session is loaded lazily: `await session.load()` before using it, or "
                "take it as a handler parameter (`session: HttpSession`), which loads it."
            )

    def __getitem__(self, key: str) -> Any:
        self._require_loaded()
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._require_loaded()
        self._data[key] = value
        self._modified = True

    def __delitem__(self, key: str) -> None:
        self._require_loaded()
        del self._data[key]
        self._modified = True

    def __iter__(self) -> Iterator[str]:
        self._require_loaded()
        return iter(self._data)

    def __len__(self) -> int:
        self._require_loaded()
        return len(self._data)

    def __repr__(self) -> str:
        state = "loaded" if self._loaded else "not loaded"
        return f"<HttpSession {state}, {len(self._data)} keys>"


async def get_session(scope: Scope) -> HttpSession:
    """The request's (or WebSocket's) session, loaded. Needs ``SessionMiddleware``."""
    session = scope.get(SCOPE_KEY)
    if not isinstance(session, HttpSession):
        raise ImproperlyConfigured(
            "No session on this request: the session middleware is not installed. "
            "tidal.security.build_protections(app, ...) installs it."
        )
    return await session.load()


__all__ = [
    "CSRF_SECRET_KEY",
    "SAMESITE_VALUES",
    "SCOPE_KEY",
    "HttpSession",
    "SessionConfig",
    "SessionNotLoaded",
    "get_session",
    "storage_key",
]
