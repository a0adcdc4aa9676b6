"""The board's live channel, ``board:<id>``: only members join, and each page joined shows
who else is looking (presence). What flows through it are the models' own broadcasts
(``__broadcast__`` in models.py), sent after each commit; this module only decides who
may listen."""

from __future__ import annotations

from typing import Any

import tidal.db
from board.actions import is_member
from tidal import Tidal
from tidal.auth import User
from tidal.realtime import Channels, Refused, Socket


def install(app: Tidal) -> None:
    @app.channel("board:{board_id:int}", presence=True)
    async def board(
        socket: Socket, topic: str, board_id: int, user: User | None, channels: Channels
    ) -> dict[str, Any]:
        """Join a board's events; refused to anyone but its members. Also run again for
        the sockets of a user whose rights changed (``reauthorize_user``)."""
        if user is None:
            raise Refused("Log in to see this board.")
        async with tidal.db.session(channels.app) as db:
            if not await is_member(db, board_id, user.id):
                raise Refused("You are not a member of this board.")
        await socket.track(topic, {"username": user.username})
        return {"board": board_id, "you": user.username}


__all__ = ["install"]
