"""Sockets authenticated like HTTP, when ``tidal.auth`` is installed.

``Channels`` uses these hooks by default when the application installs ``tidal.auth``:

* ``check_origin``: the HTTP origin rules of ``tidal.security`` (the site itself,
  ``csrf_trusted_origins`` and ``realtime_allowed_origins``); a refusal answers the
  handshake with 403.
* ``authenticate``: ``Authorization: Bearer <token>`` (a header, never the URL) is checked
  against the API tokens of ``tidal.auth``; a wrong token refuses the handshake (403).
  Otherwise the session cookie is read exactly as for HTTP. A socket of a logged-in session
  must bring the page's CSRF token, as ``?csrf_token=`` or as its first frame
  ``{"type": "auth", "csrf_token": "..."}`` (what tidal.js sends); without it the socket
  is closed with 1008. A socket without a logged-in session is anonymous (``user`` is
  None): join handlers decide what anonymous users may join.

Authentication lasts beyond the handshake:

* ``signed_out(app, user_key)`` closes a user's sockets on every worker; ``tidal.auth``
  calls it on logout and once a password change is committed.
* ``rights_changed`` follows the committed changes of users, groups, permissions and API
  tokens (``tidal.db`` change capture, registered by ``Channels`` at start-up): a user whose
  permissions, groups or flags changed has every join checked again on every worker (the
  join handlers run again with the user reloaded); a deactivated or deleted user is
  disconnected (1008); a group or permission that is deleted checks every signed-in
  socket again (who held it is gone with it).
* A socket opened with an API token closes (1008) when the token expires (a timer set at
  the handshake, moved if ``expires_at`` changes) and when it is revoked or deleted.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.websockets import WebSocket, WebSocketState

from tidal.http.errors import Forbidden
from tidal.realtime.handshake import CREDENTIAL_KEY, EXPIRES_KEY

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.db.changes import Change
    from tidal.realtime.channels import Channels

logger = logging.getLogger("tidal.realtime")
AUTH_APP = "tidal.auth"


def auth_installed(app: Tidal) -> bool:
    """Whether ``app`` installs ``tidal.auth`` (its apps are loaded after ``Channels``
    is created, so this is asked when a socket connects)."""
    return any(config.name == AUTH_APP for config in getattr(app, "apps", ()))


def check_session_origin(websocket: WebSocket) -> bool:
    """``check_origin`` of session-authenticated sockets: the rules of HTTP requests."""
    from tidal.security.origins import check_origin

    app: Any = websocket.scope["tidal.app"]
    allowed: bool = check_origin(websocket.scope, app.settings)
    return allowed


async def session_user(websocket: WebSocket) -> Any:
    """``authenticate`` with ``tidal.auth``: a bearer token, else the HTTP session (with
    its CSRF token); None for anonymous sockets."""
    from tidal.auth.authentication import TOKEN_KEY, bearer_token, get_user
    from tidal.auth.models import APIToken, User
    from tidal.security.origins import authenticate_websocket

    scope = websocket.scope
    if bearer_token(scope) is not None:
        user = await get_user(websocket)
        if not isinstance(user, User):
            raise Forbidden("WebSocket refused: the bearer token is invalid or expired.")
        token = scope.get(TOKEN_KEY)
        if isinstance(token, APIToken):  # the socket ends with its token
            scope[CREDENTIAL_KEY] = token_credential(token.id)
            scope[EXPIRES_KEY] = timestamp(token.expires_at)
        return user
    user = await get_user(websocket)
    if not isinstance(user, User):
        return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "csrf_token" not in query and websocket.application_state is WebSocketState.CONNECTING:
        # The token comes in the first frame: accept now, with the protocol tidal.js asks
        # for (a browser drops a socket whose subprotocol was not answered).
        offered = scope.get("subprotocols") or []
        await websocket.accept("tidal.v1" if "tidal.v1" in offered else None)
    await authenticate_websocket(websocket)  # raises Forbidden: 403, or 1008 once accepted
    return user


async def signed_out(app: Tidal, user_key: str, reason: str = "signed out") -> None:
    """Close ``user_key``'s sockets on every worker (1008, ``reason``). Does nothing in an
    application without channels; a pub/sub failure is logged, never raised (the logout
    itself must succeed)."""
    from tidal.realtime.channels import STATE_KEY, Channels

    registry = app.state.get(STATE_KEY)
    if not isinstance(registry, Channels) or not (registry.channels or registry.started):
        return
    try:
        await registry.disconnect_user(user_key, reason=reason)
    except Exception:
        logger.exception("Could not close the sockets of user %s (%s)", user_key, reason)


def token_credential(token_id: Any) -> str:
    """The credential of sockets opened with API token ``token_id``."""
    return f"token:{token_id}"


def timestamp(moment: datetime.datetime | None) -> float | None:
    """POSIX seconds of an expiry (a naive value is UTC, as ``UTCDateTime`` stores it)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


async def reload_user(app: Tidal, user: Any) -> Any:
    """``user`` as the database has it now, or None when deleted or deactivated (the
    ``refresh_user`` of ``Channels`` with ``tidal.auth``)."""
    from tidal.auth.models import User
    from tidal.db.lifecycle import database

    if not isinstance(user, User):
        return user
    source = database(app)
    async with source.session() as db:
        found = await db.get(User, user.id)
    if found is None or not found.is_active:
        return None
    found._auth_database = source  # (its permissions are read with a session of their own)
    return found


USER_RIGHTS = frozenset({"is_active", "is_staff", "is_superuser", "groups", "user_permissions"})


def watch_rights(registry: Channels) -> Callable[..., Any]:
    """Call ``rights_changed`` after each commit that changed an auth model; returns the
    listener (``Channels`` removes it when it stops)."""
    from tidal.auth.models import APIToken, Group, Permission, User
    from tidal.db.lifecycle import database

    async def listener(changes: Sequence[Change]) -> None:
        await rights_changed(registry, changes)

    models = (User, Group, Permission, APIToken)
    return database(registry.app).on_commit(listener, models=models)


async def rights_changed(registry: Channels, changes: Iterable[Change]) -> None:
    """Tell every worker what committed auth changes mean for open sockets."""
    from tidal.auth.models import APIToken, Group, Permission, User

    closed: dict[str, str] = {}
    users: set[str] = set()
    groups: set[Any] = set()
    everyone = False
    revoked: list[str] = []
    expiries: dict[str, float | None] = {}
    for change in changes:
        model, action, changed = change.model, change.action, change.changed
        if action == "insert":
            continue  # a new user, group, permission or token is on no socket yet
        if issubclass(model, User):
            key = str(change.pk[0])
            if action == "delete":
                closed[key] = "account deleted"
            elif "is_active" in changed and not change.values["is_active"]:
                closed[key] = "account disabled"
            elif changed & USER_RIGHTS:
                users.add(key)
        elif issubclass(model, Group):
            if action == "delete":
                everyone = True
            elif "permissions" in changed:
                groups.add(change.pk[0])
        elif issubclass(model, Permission):
            everyone = everyone or action == "delete" or "codename" in changed
        elif issubclass(model, APIToken):
            credential = token_credential(change.pk[0])
            if action == "delete" or (
                "revoked_at" in changed and change.values["revoked_at"] is not None
            ):
                revoked.append(credential)
            elif "expires_at" in changed:
                expiries[credential] = timestamp(change.values["expires_at"])
    for key, reason in closed.items():
        await registry.disconnect_user(key, reason=reason)
    for credential in revoked:
        await registry.revoke_credential(credential)
    for credential, moment in expiries.items():
        await registry.expire_credential(credential, moment)
    if everyone:
        await registry.reauthorize_all()
        return
    if groups:
        users.update(await _members(registry.app, groups))
    await registry.reauthorize_users(users - closed.keys())


async def _members(app: Tidal, groups: Iterable[Any]) -> list[str]:
    from sqlalchemy import select

    from tidal.auth.models import user_groups
    from tidal.db.lifecycle import database

    query = select(user_groups.c.user_id).where(user_groups.c.group_id.in_(list(groups)))
    async with database(app).session() as db:
        return [str(user_id) for user_id in (await db.scalars(query)).unique()]


__all__ = [
    "USER_RIGHTS",
    "auth_installed",
    "check_session_origin",
    "reload_user",
    "rights_changed",
    "session_user",
    "signed_out",
    "timestamp",
    "token_credential",
    "watch_rights",
]
