"""Who may touch what: route dependencies that load a board, list or card for one of the
board's members, and answer everyone else 404 (a non-member learns nothing, not even that
the board exists).

``user: User`` inside them means a logged-in user or a valid API token: browsers without
one are sent to the login page, API clients get 401.
"""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import select

from board.models import Board, BoardList, Card, Membership
from tidal import Depends, HTTPError
from tidal.auth import User
from tidal.db import Session


async def member_board(board_id: int, user: User, db: Session) -> Board:
    query = (
        select(Board)
        .join(Membership, Membership.board_id == Board.id)
        .where(Board.id == board_id, Membership.user_id == user.id)
    )
    board = await db.scalar(query)
    if board is None:
        raise HTTPError(404, f"No board with id {board_id}.")
    return board


async def owned_board(board_id: int, user: User, db: Session) -> Board:
    """The board, for its owner only (members get 403: they know it exists)."""
    board = await member_board(board_id, user, db)
    if board.owner_id != user.id:
        raise HTTPError(403, "Only the board's owner can do this.")
    return board


async def member_list(list_id: int, user: User, db: Session) -> BoardList:
    query = (
        select(BoardList)
        .join(Membership, Membership.board_id == BoardList.board_id)
        .where(BoardList.id == list_id, Membership.user_id == user.id)
    )
    board_list = await db.scalar(query)
    if board_list is None:
        raise HTTPError(404, f"No list with id {list_id}.")
    return board_list


async def member_card(card_id: int, user: User, db: Session) -> Card:
    query = (
        select(Card)
        .join(Membership, Membership.board_id == Card.board_id)
        .where(Card.id == card_id, Membership.user_id == user.id)
    )
    card = await db.scalar(query)
    if card is None:
        raise HTTPError(404, f"No card with id {card_id}.")
    return card


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
