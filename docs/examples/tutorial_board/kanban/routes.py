"""The board's pages, and the JSON endpoint kanban.js moves cards with."""

from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import select

from kanban.models import STATUSES, Board, Card, Membership
from tidal import Depends, HTMLResponse, HTTPError, Request, Response, Router, redirect, render
from tidal.auth import User
from tidal.db import Session, exists
from tidal.forms import Form, Submitted

router = Router()


async def member_board(board_id: int, user: User, db: Session) -> Board:
    """The board, if the user is one of its members; 404 for everyone else."""
    board = await db.scalar(
        select(Board)
        .join(Membership, Membership.board_id == Board.id)
        .where(Board.id == board_id, Membership.user_id == user.id)
    )
    if board is None:
        raise HTTPError(404, f"No board with id {board_id}.")
    return board


MemberBoard = Annotated[Board, Depends(member_board)]


class TitleForm(Form):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ShareForm(Form):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]


class Move(msgspec.Struct):
    status: Literal["todo", "doing", "done"]


@router.get("/", include_in_schema=False)
async def index(request: Request, user: User, db: Session) -> HTMLResponse:
    boards = await db.scalars(
        select(Board).join(Membership).where(Membership.user_id == user.id).order_by(Board.id)
    )
    return await render(request, "kanban/index.html", {"boards": list(boards)})


@router.post("/boards", include_in_schema=False)
async def create_board(form: Submitted[TitleForm], user: User, db: Session) -> Response:
    if not form.is_valid:
        return redirect("/")
    board = Board(title=form.title)
    db.add(board)
    await db.flush()  # board.id is known from here on
    db.add(Membership(board_id=board.id, user_id=user.id))
    return redirect(f"/boards/{board.id}")


@router.get("/boards/{board_id:int}", include_in_schema=False)
async def show_board(request: Request, board: MemberBoard, db: Session) -> HTMLResponse:
    cards = await db.scalars(select(Card).where(Card.board_id == board.id).order_by(Card.id))
    columns: dict[str, list[Card]] = {status: [] for status in STATUSES}
    for card in cards:
        columns[card.status].append(card)
    return await render(request, "kanban/board.html", {"board": board, "columns": columns})


@router.post("/boards/{board_id:int}/cards", include_in_schema=False)
async def add_card(board: MemberBoard, form: Submitted[TitleForm], db: Session) -> Response:
    if form.is_valid:
        db.add(Card(board_id=board.id, title=form.title))
    return redirect(f"/boards/{board.id}")


@router.post("/boards/{board_id:int}/members", include_in_schema=False)
async def share(board: MemberBoard, form: Submitted[ShareForm], db: Session) -> Response:
    """Let another user see and change the board."""
    if form.is_valid:
        other = await db.scalar(select(User).where(User.username == form.username))
        if other and not await exists(db, Membership, board_id=board.id, user_id=other.id):
            db.add(Membership(board_id=board.id, user_id=other.id))
    return redirect(f"/boards/{board.id}")


@router.post("/cards/{card_id:int}/move")
async def move_card(card_id: int, move: Move, user: User, db: Session) -> dict[str, Any]:
    """Put a card in another column."""
    card = await db.scalar(
        select(Card)
        .join(Membership, Membership.board_id == Card.board_id)
        .where(Card.id == card_id, Membership.user_id == user.id)
    )
    if card is None:
        raise HTTPError(404, f"No card with id {card_id}.")
    card.status = move.status
    return {"id": card.id, "status": card.status}
