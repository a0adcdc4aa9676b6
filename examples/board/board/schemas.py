"""What the JSON API reads and writes. Written by hand (rather than derived with
``tidal.db.schema``) so type checkers see them and the OpenAPI document names them well."""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
CardTitle = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=10_000)]
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=150)]


class TokenIn(msgspec.Struct):
    """A user's credentials, exchanged for an API token."""

    username: Username
    password: Annotated[str, msgspec.Meta(max_length=4096)]
    name: Annotated[str, msgspec.Meta(max_length=100)] = "API client"


class TokenOut(msgspec.Struct):
    """Send it as ``Authorization: Bearer <token>``; it is shown only once."""

    token: str
    expires_at: datetime.datetime | None


class BoardIn(msgspec.Struct):
    title: Title


class BoardOut(msgspec.Struct):
    id: int
    title: str
    owner_id: int


class MemberIn(msgspec.Struct):
    username: Username


class MemberOut(msgspec.Struct):
    user_id: int
    username: str


class ListIn(msgspec.Struct):
    title: Title


class ListOut(msgspec.Struct):
    id: int
    board_id: int
    title: str
    position: int


class CardIn(msgspec.Struct):
    title: CardTitle
    description: Text = ""


class CardPatch(msgspec.Struct):
    """Only the fields sent are changed."""

    title: CardTitle | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET


class CardOut(msgspec.Struct):
    id: int
    board_id: int
    list_id: int
    title: str
    description: str
    position: int
    comment_count: int


class MoveIn(msgspec.Struct):
    """Where a card goes: a list of the same board, and its place there (0 is the top;
    a place past the end puts it last)."""

    list_id: int
    position: Annotated[int, msgspec.Meta(ge=0)]


class CommentIn(msgspec.Struct):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]


class CommentOut(msgspec.Struct):
    id: int
    card_id: int
    board_id: int
    author: str
    body: str
    created_at: datetime.datetime


class BoardDetail(msgspec.Struct):
    """A board with everything its page shows."""

    id: int
    title: str
    owner_id: int
    members: list[MemberOut]
    lists: list[ListOut]
    cards: list[CardOut]


class CardDetail(msgspec.Struct):
    card: CardOut
    comments: list[CommentOut]


__all__ = [
    "BoardDetail",
    "BoardIn",
    "BoardOut",
    "CardDetail",
    "CardIn",
    "CardOut",
    "CardPatch",
    "CommentIn",
    "CommentOut",
    "ListIn",
    "ListOut",
    "MemberIn",
    "MemberOut",
    "MoveIn",
    "TokenIn",
    "TokenOut",
]
