"""The JSON API, for mobile and single-page clients (and board.js).

Clients authenticate with an API token: ``POST /api/token`` with a username and password
returns one; send it as ``Authorization: Bearer <token>``. Browsers of logged-in users may
call it too, with their session cookie and the page's CSRF token (``X-CSRF-Token``).
Boards a user is not a member of answer 404.

``/openapi.json`` says the same to machines: it declares the ``bearerAuth`` and
``sessionCookie`` security schemes, and every operation but ``POST /api/token`` requires
one of them (each takes ``user: User``, directly or through ``board.access``).
"""

from __future__ import annotations

import msgspec

from board import actions
from board.access import MemberBoard, MemberCard, MemberList, OwnedBoard
from board.models import Board, BoardList, Card, Comment, Membership
from board.schemas import (
    BoardDetail,
    BoardIn,
    BoardOut,
    CardDetail,
    CardIn,
    CardOut,
    CardPatch,
    CommentIn,
    CommentOut,
    ListIn,
    ListOut,
    MemberIn,
    MemberOut,
    MoveIn,
    TokenIn,
    TokenOut,
)
from tidal import HTTPError, Request, Router
from tidal.auth import User, authenticate, create_token
from tidal.db import Session
from tidal.realtime import Channels
from tidal.security import login_throttle

router = Router("/api", name="api", tags=["board API"])
throttle = login_throttle(name="board.api.token")


def board_out(board: Board) -> BoardOut:
    return BoardOut(id=board.id, title=board.title, owner_id=board.owner_id)


def member_out(member: Membership) -> MemberOut:
    return MemberOut(user_id=member.user_id, username=member.username)


def list_out(board_list: BoardList) -> ListOut:
    return ListOut(
        id=board_list.id,
        board_id=board_list.board_id,
        title=board_list.title,
        position=board_list.position,
    )


def card_out(card: Card) -> CardOut:
    return CardOut(
        id=card.id,
        board_id=card.board_id,
        list_id=card.list_id,
        title=card.title,
        description=card.description,
        position=card.position,
        comment_count=card.comment_count,
    )


def comment_out(comment: Comment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        card_id=comment.card_id,
        board_id=comment.board_id,
        author=comment.author,
        body=comment.body,
        created_at=comment.created_at,
    )


async def board_detail(db: Session, board: Board) -> BoardDetail:
    return BoardDetail(
        id=board.id,
        title=board.title,
        owner_id=board.owner_id,
        members=[member_out(m) for m in await actions.members_of(db, board)],
        lists=[list_out(b) for b in await actions.lists_of(db, board)],
        cards=[card_out(c) for c in await actions.cards_of(db, board)],
    )


@router.post("/token", status_code=201)
async def issue_token(request: Request, credentials: TokenIn, db: Session) -> TokenOut:
    """Exchange a username and password for an API token.

    Throttled like the login page (per account and per client address): over the limit
    the answer is 429 with Retry-After, whatever the password.
    """
    await throttle.attempt(request, credentials.username)
    user = await authenticate(request, db, credentials.username, credentials.password)
    if user is None:
        raise HTTPError(401, "The username or password is wrong.")
    await throttle.succeeded(request, credentials.username)
    token, record = await create_token(db, user, name=credentials.name, app=request.tidal)
    return TokenOut(token=token, expires_at=record.expires_at)


@router.get("/boards")
async def list_boards(user: User, db: Session) -> list[BoardOut]:
    """The boards the user is a member of."""
    return [board_out(b) for b in await actions.boards_of(db, user)]


@router.post("/boards", status_code=201)
async def create_board(data: BoardIn, user: User, db: Session) -> BoardDetail:
    """Create a board (with the lists To do, Doing and Done); the user owns it."""
    board = await actions.create_board(db, user, data.title)
    return await board_detail(db, board)


@router.get("/boards/{board_id:int}")
async def show_board(board: MemberBoard, db: Session) -> BoardDetail:
    """A board with its members, lists and cards (cards in list order)."""
    return await board_detail(db, board)


@router.patch("/boards/{board_id:int}")
async def rename_board(board: MemberBoard, data: BoardIn) -> BoardOut:
    board.title = data.title
    return board_out(board)


@router.post("/boards/{board_id:int}/members", status_code=201)
async def add_member(board: OwnedBoard, data: MemberIn, db: Session) -> MemberOut:
    """Let another user see and change the board (its owner only)."""
    return member_out(await actions.add_member(db, board, data.username))


@router.delete("/boards/{board_id:int}/members/{user_id:int}")
async def remove_member(board: OwnedBoard, user_id: int, db: Session, channels: Channels) -> None:
    """Take a member off the board (its owner only); their open pages lose it at once."""
    await actions.remove_member(db, board, user_id)
    await db.commit()  # their sockets are re-checked next, against the committed rows
    await channels.reauthorize_user(str(user_id))


@router.post("/boards/{board_id:int}/lists", status_code=201)
async def add_list(board: MemberBoard, data: ListIn, db: Session) -> ListOut:
    """Add a list at the right end of the board."""
    return list_out(await actions.add_list(db, board, data.title))


@router.patch("/lists/{list_id:int}")
async def rename_list(board_list: MemberList, data: ListIn) -> ListOut:
    board_list.title = data.title
    return list_out(board_list)


@router.post("/lists/{list_id:int}/cards", status_code=201)
async def add_card(board_list: MemberList, data: CardIn, db: Session) -> CardOut:
    """Add a card at the bottom of a list."""
    return card_out(await actions.add_card(db, board_list, data.title, data.description))


@router.get("/cards/{card_id:int}")
async def show_card(card: MemberCard, db: Session) -> CardDetail:
    """A card with its comments, oldest first."""
    comments = await actions.comments_of(db, card)
    return CardDetail(card=card_out(card), comments=[comment_out(c) for c in comments])


@router.patch("/cards/{card_id:int}")
async def edit_card(card: MemberCard, data: CardPatch) -> CardOut:
    """Rename a card or change its description."""
    if not isinstance(data.title, msgspec.UnsetType):
        card.title = data.title
    if not isinstance(data.description, msgspec.UnsetType):
        card.description = data.description
    return card_out(card)


@router.post("/cards/{card_id:int}/move")
async def move_card(card: MemberCard, data: MoveIn, db: Session) -> CardOut:
    """Move a card to a place in a list of the same board (or within its list)."""
    return card_out(await actions.move_card(db, card, data.list_id, data.position))


@router.delete("/cards/{card_id:int}")
async def delete_card(card: MemberCard, db: Session) -> None:
    await db.delete(card)


@router.get("/cards/{card_id:int}/comments")
async def list_comments(card: MemberCard, db: Session) -> list[CommentOut]:
    return [comment_out(c) for c in await actions.comments_of(db, card)]


@router.post("/cards/{card_id:int}/comments", status_code=201)
async def add_comment(card: MemberCard, data: CommentIn, user: User, db: Session) -> CommentOut:
    return comment_out(await actions.add_comment(db, card, user, data.body))


__all__ = ["router"]
