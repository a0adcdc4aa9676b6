"""The board's tables. Every row broadcasts to its board's topic, ``board:<id>``, so each
committed change reaches the pages of the board's members (only members may join).

Broadcasts carry the row's own columns, nothing joined: the few names a page shows with a
row (a comment's author, a member's username) are kept on the row itself.

Every installed app's models share one metadata, so the tables have names of their own
(``boards``, not ``board``) that another app's ``Board`` or ``Card`` cannot clash with;
``__broadcast_name__`` keeps the events short (``card:update``).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tidal.auth import User  # noqa: F401  (auth_user, which the foreign keys name)
from tidal.db import Model, TimestampMixin

__all__ = ["Board", "BoardList", "Card", "Comment", "Membership"]


class Board(TimestampMixin, Model):
    __tablename__ = "boards"
    __broadcast__ = "board:{id}"
    __broadcast_name__ = "board"
    __broadcast_fields__ = ("id", "title", "owner_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"))


class Membership(Model):
    """Who may see and change a board; the owner is a member too."""

    __tablename__ = "board_members"
    __table_args__ = (UniqueConstraint("board_id", "user_id"),)
    __broadcast__ = "board:{board_id}"
    __broadcast_name__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_user.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(150))


class BoardList(Model):
    """A column of cards ("To do", "Doing", "Done")."""

    __tablename__ = "board_lists"
    __broadcast__ = "board:{board_id}"
    __broadcast_name__ = "list"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)


class Card(TimestampMixin, Model):
    """A card of a list. ``board_id`` repeats its list's board: it names the topic and
    lets every permission check be one query."""

    __tablename__ = "cards"
    __broadcast__ = "board:{board_id}"
    __broadcast_name__ = "card"
    __broadcast_fields__ = (
        "id",
        "board_id",
        "list_id",
        "title",
        "description",
        "position",
        "comment_count",
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(
        ForeignKey("board_lists.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    # Kept with the card, so the badge a page shows is in every card broadcast.
    comment_count: Mapped[int] = mapped_column(default=0)


class Comment(TimestampMixin, Model):
    __tablename__ = "card_comments"
    __broadcast__ = "board:{board_id}"
    __broadcast_name__ = "comment"
    __broadcast_fields__ = ("id", "card_id", "board_id", "author", "body", "created_at")

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("auth_user.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
