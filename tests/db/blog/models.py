"""Models of the test app: authors, boards and cards, with every kind of constraint."""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tidal.db import Model, TimestampMixin


class Status(enum.Enum):
    todo = "todo"
    doing = "doing"
    done = "done"


class Author(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    bio: Mapped[str | None] = mapped_column(Text)


class Board(TimestampMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("author.id"))


class Card(TimestampMixin, Model):
    __table_args__ = (
        UniqueConstraint("board_id", "title"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("board.id"))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[Status] = mapped_column(default=Status.todo)
    note: Mapped[str | None] = mapped_column(Text)
