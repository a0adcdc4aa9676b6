"""Cards that broadcast to ``board:{board_id}`` (all but their ``secret``)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tidal.db import Model


class LiveCard(Model):
    __broadcast__ = "board:{board_id}"
    __broadcast_fields__ = ("id", "board_id", "title", "private")

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    private: Mapped[bool] = mapped_column(default=False)
    secret: Mapped[str] = mapped_column(String(200), default="")


class LiveNote(Model):
    """A model that does not broadcast."""

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
