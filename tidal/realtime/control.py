"""Messages to every worker about the sockets of users and credentials: close them, check
their joins again, move their expiry. ``Channels`` publishes them on an internal topic
(``disconnect_user``, ``reauthorize_users``, ``revoke_credential``...); every worker's hub
hands them to ``on_control``, which acts on its own sockets::

    {"op": "disconnect", "users": ["42"], "code": 1008, "reason": "signed out"}
    {"op": "reauthorize", "users": ["42", "43"]}      (null: every authenticated socket)
    {"op": "revoke", "credential": "token:12", "reason": "token revoked"}
    {"op": "expire", "credential": "token:12", "at": 1767225600.0}   (null: never)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from tidal.realtime.channels import Channels
    from tidal.realtime.connection import Socket

logger = logging.getLogger("tidal.realtime")
CONTROL_TOPIC = "\x00tidal:control"
_UNKNOWN: Any = object()


async def on_control(registry: Channels, payload: bytes) -> None:
    """Act on one control message, for the sockets of this worker."""
    message = msgspec.json.decode(payload)
    op = message.get("op")
    if op in ("revoke", "expire"):
        for socket in [s for s in registry.sockets if s.credential == message["credential"]]:
            if op == "revoke":
                socket.close(1008, str(message["reason"]))
            else:
                socket.expire_at(message["at"])
        return
    users: list[str] | None = message.get("users")
    wanted = None if users is None else set(users)
    chosen = [
        socket
        for socket in registry.sockets
        if socket.user_key is not None and (wanted is None or socket.user_key in wanted)
    ]
    if op == "disconnect":
        for socket in chosen:
            socket.close(int(message["code"]), str(message["reason"]))
    elif op == "reauthorize" and chosen:
        registry.hub.spawn(reauthorize(registry, chosen), "reauthorize sockets")


async def reauthorize(registry: Channels, sockets: list[Socket]) -> None:
    """Reload each user once (``registry.refresh_user``), then authorize their sockets
    again: None (deleted, deactivated) closes them with 1008; a reload that fails closes
    them with 1011, so that tidal.js reconnects and the handshake checks them anew."""
    users: dict[str, Any] = {}
    for socket in sockets:
        key = socket.user_key
        if socket.close_code is not None or key is None:
            continue
        if key not in users:
            try:
                users[key] = await registry.refresh_user(socket.user)
            except Exception:
                logger.exception("Could not reload user %s to check their sockets", key)
                users[key] = _UNKNOWN
        user = users[key]
        if user is _UNKNOWN:
            socket.close(1011, "could not check your access; reconnect")
        elif user is None:
            socket.close(1008, "account disabled")
        else:
            await socket.reauthorize(user)


__all__ = ["CONTROL_TOPIC", "on_control", "reauthorize"]
