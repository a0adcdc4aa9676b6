"""The board's live channel: only members may join, and each sees who else is looking."""

from typing import Any

from sqlalchemy import select

import tidal.db
from kanban.models import Membership
from tidal import AppConfig, Tidal
from tidal.auth import User
from tidal.realtime import Channels, Refused, Socket


class KanbanConfig(AppConfig):
    def ready(self, app: Tidal) -> None:
        @app.channel("board:{board_id:int}", presence=True)
        async def board(
            socket: Socket, topic: str, board_id: int, user: User | None, channels: Channels
        ) -> dict[str, Any]:
            if user is None:
                raise Refused("Log in first.")
            async with tidal.db.session(channels.app) as db:
                member = await db.scalar(
                    select(Membership.id).where(
                        Membership.board_id == board_id, Membership.user_id == user.id
                    )
                )
            if member is None:
                raise Refused("You are not a member of this board.")
            await socket.track(topic, {"username": user.username})
            return {"board": board_id}
