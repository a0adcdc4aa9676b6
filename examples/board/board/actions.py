"""What members do to a board, shared by the HTML pages, the JSON API and the demo seed.

Each function changes rows in the caller's session and flushes; the caller's transaction
commits them, and the models' broadcasts go out after that commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from board.models import Board, BoardList, Card, Comment, Membership
from tidal import HTTPError
from tidal.auth import User
from tidal.db import Session

DEFAULT_LISTS = ("To do", "Doing", "Done")


async def create_board(
    db: Session, owner: User, title: str, lists: Sequence[str] = DEFAULT_LISTS
) -> Board:
    """A board owned (and joined) by ``owner``, with ``lists`` to start from."""
    board = Board(title=title, owner_id=owner.id)
    db.add(board)
    await db.flush()
    db.add(Membership(board_id=board.id, user_id=owner.id, username=owner.username))
    for position, name in enumerate(lists):
        db.add(BoardList(board_id=board.id, title=name, position=position))
    await db.flush()
    return board


async def add_member(db: Session, board: Board, username: str) -> Membership:
    """Let the user called ``username`` see and change ``board``; 422 for an unknown
    name, 409 for a member already."""
    user = await db.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise HTTPError(422, f"There is no user called {username!r}.")
    if await db.scalar(
        select(Membership.id).where(Membership.board_id == board.id, Membership.user_id == user.id)
    ):
        raise HTTPError(409, f"{username} is already a member of this board.")
    member = Membership(board_id=board.id, user_id=user.id, username=user.username)
    db.add(member)
    await db.flush()
    return member


async def remove_member(db: Session, board: Board, user_id: int) -> None:
    """Take a member off the board (never its owner)."""
    if user_id == board.owner_id:
        raise HTTPError(409, "The owner cannot leave their own board.")
    member = await db.scalar(
        select(Membership).where(Membership.board_id == board.id, Membership.user_id == user_id)
    )
    if member is not None:
        await db.delete(member)
        await db.flush()


async def add_list(db: Session, board: Board, title: str) -> BoardList:
    """A list at the right end of the board."""
    last = await db.scalar(
        select(func.max(BoardList.position)).where(BoardList.board_id == board.id)
    )
    board_list = BoardList(board_id=board.id, title=title, position=0 if last is None else last + 1)
    db.add(board_list)
    await db.flush()
    return board_list


async def add_card(db: Session, board_list: BoardList, title: str, description: str = "") -> Card:
    """A card at the bottom of ``board_list``."""
    last = await db.scalar(select(func.max(Card.position)).where(Card.list_id == board_list.id))
    card = Card(
        board_id=board_list.board_id,
        list_id=board_list.id,
        title=title,
        description=description,
        position=0 if last is None else last + 1,
    )
    db.add(card)
    await db.flush()
    return card


async def move_card(db: Session, card: Card, list_id: int, position: int) -> Card:
    """Put ``card`` at ``position`` (0 is the top) of list ``list_id`` of the same board,
    renumbering the lists it leaves and enters so positions stay 0, 1, 2...

    Only the cards whose place changed are written, so each move broadcasts a few small
    updates. The cards are locked on PostgreSQL (``FOR UPDATE``): two moves into one
    list at the same time are serialized instead of producing equal positions.
    """
    target = await db.get(BoardList, list_id)
    if target is None or target.board_id != card.board_id:
        raise HTTPError(422, f"This board has no list with id {list_id}.")
    source_id = card.list_id
    siblings = list(
        await db.scalars(
            select(Card)
            .where(Card.list_id.in_({source_id, list_id}), Card.id != card.id)
            .order_by(Card.position, Card.id)
            .with_for_update()
        )
    )
    entering = [c for c in siblings if c.list_id == list_id]
    entering.insert(min(position, len(entering)), card)
    card.list_id = list_id
    _renumber(entering)
    if source_id != list_id:
        _renumber([c for c in siblings if c.list_id == source_id])
    await db.flush()
    return card


def _renumber(cards: list[Card]) -> None:
    for index, card in enumerate(cards):
        if card.position != index:
            card.position = index


async def add_comment(db: Session, card: Card, author: User, body: str) -> Comment:
    """A comment on ``card``; the card's count is recounted rather than incremented, so
    two comments posted at once still leave it right."""
    comment = Comment(
        card_id=card.id,
        board_id=card.board_id,
        author_id=author.id,
        author=author.username,
        body=body,
    )
    db.add(comment)
    await db.flush()
    count = select(func.count()).select_from(Comment).where(Comment.card_id == card.id)
    card.comment_count = await db.scalar(count) or 0
    await db.flush()
    return comment


# -- reading -----------------------------------------------------------------------------


async def boards_of(db: Session, user: User) -> list[Board]:
    query = (
        select(Board)
        .join(Membership, Membership.board_id == Board.id)
        .where(Membership.user_id == user.id)
        .order_by(Board.title, Board.id)
    )
    return list(await db.scalars(query))


async def members_of(db: Session, board: Board) -> list[Membership]:
    query = select(Membership).where(Membership.board_id == board.id)
    return list(await db.scalars(query.order_by(Membership.username)))


async def lists_of(db: Session, board: Board) -> list[BoardList]:
    query = select(BoardList).where(BoardList.board_id == board.id)
    return list(await db.scalars(query.order_by(BoardList.position, BoardList.id)))


async def cards_of(db: Session, board: Board) -> list[Card]:
    query = select(Card).where(Card.board_id == board.id)
    return list(await db.scalars(query.order_by(Card.list_id, Card.position, Card.id)))


async def comments_of(db: Session, card: Card) -> list[Comment]:
    query = select(Comment).where(Comment.card_id == card.id)
    return list(await db.scalars(query.order_by(Comment.created_at, Comment.id)))


async def is_member(db: Session, board_id: int, user_id: int) -> bool:
    query = select(Membership.id).where(
        Membership.board_id == board_id, Membership.user_id == user_id
    )
    return await db.scalar(query) is not None


__all__ = [
    "DEFAULT_LISTS",
    "add_card",
    "add_comment",
    "add_list",
    "add_member",
    "boards_of",
    "cards_of",
    "comments_of",
    "create_board",
    "is_member",
    "lists_of",
    "members_of",
    "move_card",
    "remove_member",
]
