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

``signed_out(app, user_key)`` closes a user's sockets on every worker; ``tidal.auth`` calls
it on logout and on a password change.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.websockets import WebSocket, WebSocketState

from tidal.http.errors import Forbidden

if TYPE_CHECKING:
    from tidal.app import Tidal

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
    from tidal.auth.authentication import bearer_token, get_user
    from tidal.auth.models import User
    from tidal.security.origins import authenticate_websocket

    scope = websocket.scope
    if bearer_token(scope) is not None:
        user = await get_user(websocket)
        if not isinstance(user, User):
            raise Forbidden("WebSocket refused: the bearer token is invalid or expired.")
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


__all__ = ["auth_installed", "check_session_origin", "session_user", "signed_out"]
