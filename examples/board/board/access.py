"""Who may touch what: route dependencies that load a board, list or card for one of the
board's members, and answer everyone else 404 (a non-member learns nothing, not even that
the board exists).

``user: User`` inside them means a logged-in user or a valid API token: browsers without
one are sent to the login page, API clients get 401.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from sqlalchemy import select

from board.models import Board, BoardList, Card, Membership
from tidal import Depends, HTTPError
from tidal.auth import User
from tidal.db import Session

_Row = TypeVar("_Row", Board, BoardList, Card)


async def _for_member(
    db: Session, user: User, model: type[_Row], board_id: Any, row_id: int, noun: str
) -> _Row:
    """The row ``row_id`` of ``model`` if ``user`` is a member of the board its column
    ``board_id`` names, else 404."""
    query = (
        select(model)
        .join(Membership, Membership.board_id == board_id)
        .where(model.id == row_id, Membership.user_id == user.id)
    )
    row = await db.scalar(query)
    if row is None:
        raise HTTPError(404, f"No {noun} with id {row_id}.")
    return row


async def member_board(board_id: int, user: User, db: Session) -> Board:
    return await _for_member(db, user, Board, Board.id, board_id, "board")


async def owned_board(board_id: int, user: User, db: Session) -> Board:
    """The board, for its owner only (members get 403: they know it exists)."""
    board = await member_board(board_id, user, db)
    if board.owner_id != user.id:
        raise HTTPError(403, "Only the board's owner can do this.")
    return board


async def member_list(list_id: int, user: User, db: Session) -> BoardList:
    return await _for_member(db, user, BoardList, BoardList.board_id, list_id, "list")


async def member_card(card_id: int, user: User, db: Session) -> Card:
    return await _for_member(db, user, Card, Card.board_id, card_id, "card")


MemberBoard = Annotated[Board, Depends(member_board)]
OwnedBoard = Annotated[Board, Depends(owned_board)]
MemberList = Annotated[BoardList, Depends(member_list)]
MemberCard = Annotated[Card, Depends(member_card)]

__all__ = [
    "MemberBoard",
    "MemberCard",
    "MemberList",
    "OwnedBoard",
    "member_board",
    "member_card",
    "member_list",
    "owned_board",
]
