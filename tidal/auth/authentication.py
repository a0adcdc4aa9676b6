"""Who is making a request: the session's user, or an API token's.

* A request with ``Authorization: Bearer <token>`` is authenticated by that token only,
  never by the session cookie (the CSRF check exempts bearer requests, so falling back to
  the cookie would let a forged request with a bogus token ride the victim's session).
* Otherwise the user id comes from the ``HttpSession`` (``tidal.auth.user_id``), with an
  HMAC of the user's password hash (``tidal.auth.hash``): changing the password logs every
  other session out.
* Nothing happens until something asks (``user: User``, ``user: BaseUser``, a guard,
  ``await get_user(request)``): a request that never asks does no cookie parsing, no
  session load and no query. The result is cached in ``scope["tidal.user"]``, where
  templates find it as ``user``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_object_session

from tidal.auth.config import get_config
from tidal.auth.hashers import PasswordHasher
from tidal.auth.models import AnonymousUser, APIToken, BaseUser, User, hash_token
from tidal.db.models import utcnow
from tidal.sessions.session import SCOPE_KEY, HttpSession, get_session

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from tidal.app import Tidal
    from tidal.types import Scope

USER_KEY = "tidal.user"  # tidal.templates.context.USER_KEY
METHOD_KEY = "tidal.auth.method"  # "session", "token" or None once resolved
TOKEN_KEY = "tidal.auth.token"  # noqa: S105  (a scope key: the APIToken of a bearer request)
SESSION_USER_KEY = "tidal.auth.user_id"
SESSION_HASH_KEY = "tidal.auth.hash"
HASHER_KEY = "tidal.auth.hasher"


def get_hasher(app: Tidal) -> PasswordHasher:
    """The application's password hasher, built from its ``AuthConfig`` once."""
    hasher = app.state.get(HASHER_KEY)
    if not isinstance(hasher, PasswordHasher):
        hasher = PasswordHasher(get_config(app))
        app.state[HASHER_KEY] = hasher
    return hasher


def session_hash(app: Tidal, password_hash: str) -> str:
    """What the session keeps of the password hash: an HMAC under the secret key, so the
    session store never holds (even a hash of) the password."""
    key = (app.settings.secret_key or "").encode("utf-8")
    message = b"tidal.auth.session:" + password_hash.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``""`` for a malformed one,
    None when there is no bearer header."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
            return None
    return None


def _app(scope: Scope) -> Tidal:
    app: Tidal = scope["tidal.app"]
    return app


async def authenticate_request(scope: Scope, db: AsyncSession) -> BaseUser:
    """Resolve the user of ``scope`` with ``db`` (no caching; see ``get_user``)."""
    token = bearer_token(scope)
    if token is not None:
        scope[METHOD_KEY] = "token"
        found = await token_and_user(db, token)
        if found is None:
            return AnonymousUser()
        scope[TOKEN_KEY] = found[0]
        return found[1]
    session = scope.get(SCOPE_KEY)
    if not isinstance(session, HttpSession):
        return AnonymousUser()
    if not session.loaded and session.cookie_id is None:
        return AnonymousUser()  # no cookie: no session to read, no query
    await session.load()
    user_id = session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        return AnonymousUser()
    user = await db.get(User, user_id)
    if user is None or not user.is_active:
        await session.flush()
        return AnonymousUser()
    stored = session.get(SESSION_HASH_KEY)
    expected = session_hash(_app(scope), user.password)
    if not isinstance(stored, str) or not hmac.compare_digest(stored, expected):
        await session.flush()  # the password changed since this session logged in
        return AnonymousUser()
    scope[METHOD_KEY] = "session"
    return user


async def get_user(conn: HTTPConnection, db: AsyncSession | None = None) -> BaseUser:
    """The request's (or WebSocket's) user, ``AnonymousUser`` without valid credentials.

    Resolved once per request and kept in ``scope["tidal.user"]``. Without ``db`` a short
    session of the application's database is used for the lookup."""
    scope = conn.scope
    found = scope.get(USER_KEY)
    if isinstance(found, BaseUser):
        return found
    if db is not None:
        user = await authenticate_request(scope, db)
    else:
        from tidal.db.lifecycle import database

        source = database(_app(scope))
        async with source.session() as session:
            user = await authenticate_request(scope, session)
        if isinstance(user, User):
            user._auth_database = source
    scope[USER_KEY] = user
    return user


async def authenticate(
    request: HTTPConnection, db: AsyncSession, username: str, password: str
) -> User | None:
    """The active user with this username (or e-mail) and password, or None.

    The password is checked in a worker thread. An unknown name costs the same time as a
    wrong password. A hash made with other Argon2 parameters than the configured ones is
    replaced (saved when ``db`` commits)."""
    hasher = get_hasher(_app(request.scope))
    column = User.email if "@" in username else User.username
    user = (await db.execute(select(User).where(column == username))).scalars().first()
    if user is None:
        await _burn(hasher, password)
        return None
    if not await hasher.verify_async(user.password, password):
        return None
    if not user.is_active:
        return None
    if hasher.needs_rehash(user.password):
        user.password = await hasher.hash_async(password)
    return user


async def _burn(hasher: PasswordHasher, password: str) -> None:
    import asyncio

    await asyncio.to_thread(hasher.burn, password)


async def login(request: HTTPConnection, user: User) -> None:
    """Log ``user`` in on this request's session: the session id is rotated (so an id
    planted or learned before is worthless) and ``last_login`` is set."""
    app = _app(request.scope)
    session = await get_session(request.scope)
    await session.rotate()
    session[SESSION_USER_KEY] = user.id
    session[SESSION_HASH_KEY] = session_hash(app, user.password)
    now = utcnow()
    user.last_login = now
    if async_object_session(user) is None:
        from tidal.db.lifecycle import database

        async with database(app).session() as db:
            await db.execute(update(User).where(User.id == user.id).values(last_login=now))
    request.scope[USER_KEY] = user
    request.scope[METHOD_KEY] = "session"


async def logout(request: HTTPConnection) -> None:
    """End the session: deleted on the server now, the cookie expired by the response."""
    session = request.scope.get(SCOPE_KEY)
    user_id = None
    if isinstance(session, HttpSession):
        if session.loaded or session.cookie_id is not None:
            await session.load()
            user_id = session.get(SESSION_USER_KEY)
        await session.flush()
    request.scope[USER_KEY] = AnonymousUser()
    request.scope[METHOD_KEY] = None
    if isinstance(user_id, int):  # close the user's sockets on every worker
        from tidal.realtime.auth import signed_out

        await signed_out(_app(request.scope), str(user_id), "signed out")


async def update_session_hash(request: HTTPConnection, user: User) -> None:
    """After changing the password of the logged-in user, keep *this* session logged in
    (every other one is logged out by the change), with a new session id."""
    session = await get_session(request.scope)
    await session.rotate()
    session[SESSION_USER_KEY] = user.id
    session[SESSION_HASH_KEY] = session_hash(_app(request.scope), user.password)


async def set_password(app: Tidal, user: User, password: str) -> None:
    """Hash ``password`` (in a worker thread) and store it on ``user``. Once the session
    holding ``user`` commits, the user's sockets are closed on every worker (not at all if
    it rolls back; at once for a user no session holds)."""
    user.password = await get_hasher(app).hash_async(password)
    if user.id is not None:
        from tidal.db.changes import after_commit
        from tidal.realtime.auth import signed_out

        close = functools.partial(signed_out, app, str(user.id), "password changed")
        db = async_object_session(user)
        if db is None:
            await close()
        else:
            await after_commit(db, close)


async def check_password(app: Tidal, user: User, password: str) -> bool:
    return await get_hasher(app).verify_async(user.password, password)


# -- API tokens -------------------------------------------------------------------------


async def create_token(
    db: AsyncSession,
    user: User,
    *,
    name: str = "",
    expires_in: datetime.timedelta | None = None,
    app: Tidal | None = None,
    never_expires: bool = False,
) -> tuple[str, APIToken]:
    """Create an API token for ``user``; returns ``(token, record)``. The token is shown
    only now: the database keeps its SHA-256. Without ``expires_in`` it expires after the
    configured ``token_default_days`` (unless ``never_expires``)."""
    config = get_config(app) if app is not None else None
    prefix = config.token_prefix if config else "tdl_"
    if expires_in is None and not never_expires:
        days = config.token_default_days if config else 90
        expires_in = datetime.timedelta(days=days) if days else None
    token = prefix + secrets.token_urlsafe(32)
    record = APIToken(
        user_id=user.id,
        name=name,
        key_hash=hash_token(token),
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    db.add(record)
    await db.flush()
    return token, record


async def revoke_token(db: AsyncSession, token: APIToken | str) -> bool:
    """Revoke a token (the record, or the token string); False if there is no such token."""
    if isinstance(token, str):
        found = (
            (await db.execute(select(APIToken).where(APIToken.key_hash == hash_token(token))))
            .scalars()
            .first()
        )
        if found is None:
            return False
        token = found
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    await db.flush()
    return True


async def user_for_token(db: AsyncSession, token: str) -> User | None:
    """The active user a usable (not revoked, not expired) token belongs to."""
    found = await token_and_user(db, token)
    return None if found is None else found[1]


async def token_and_user(db: AsyncSession, token: str) -> tuple[APIToken, User] | None:
    """The usable token record and its active user (sockets need the record: they close
    when it expires or is revoked)."""
    if not token:
        return None
    query = (
        select(APIToken, User)
        .join(User, User.id == APIToken.user_id)
        .where(APIToken.key_hash == hash_token(token))
    )
    row = (await db.execute(query)).first()
    if row is None:
        return None
    record, user = row
    if not record.is_usable() or not user.is_active:
        return None
    return record, user


def is_token_request(scope: Scope) -> bool:
    return bearer_token(scope) is not None


__all__ = [
    "METHOD_KEY",
    "SESSION_HASH_KEY",
    "SESSION_USER_KEY",
    "TOKEN_KEY",
    "USER_KEY",
    "authenticate",
    "authenticate_request",
    "bearer_token",
    "check_password",
    "create_token",
    "get_hasher",
    "get_user",
    "is_token_request",
    "login",
    "logout",
    "revoke_token",
    "session_hash",
    "set_password",
    "token_and_user",
    "update_session_hash",
    "user_for_token",
]
