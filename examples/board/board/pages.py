"""The HTML pages: sign up, the list of boards, a board and a card.

Every change is a CSRF-protected form that posts, then redirects back (post, redirect,
get), so the site works without JavaScript. board.js makes the board page live and sends
the same changes through the JSON API without reloading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from board import actions
from board.access import MemberBoard, MemberCard, MemberList, OwnedBoard
from board.forms import CardForm, CommentForm, MemberForm, MoveForm, SignupForm, TitleForm
from board.models import Board, Card
from tidal import HTTPError, Request, Response, Router, redirect, render
from tidal.auth import BaseUser, User, login, set_password
from tidal.db import Session
from tidal.forms import Form, Submitted, flash
from tidal.realtime import Channels
from tidal.security import rate_limit

F = TypeVar("F", bound=Callable[..., Any])
router = Router()


def page(path: str, *methods: str, **options: Any) -> Callable[[F], F]:
    """A route left out of the OpenAPI document, which describes the JSON API only."""
    return router.route(path, methods or ("GET",), include_in_schema=False, **options)


def board_url(board: Board | int) -> str:
    return f"/boards/{board if isinstance(board, int) else board.id}"


def card_url(card: Card) -> str:
    return f"/cards/{card.id}"


async def refuse(request: Request, form: Form, back: str) -> Response:
    """Show the form's first problem on the page it came from."""
    field, messages = next(iter(form.errors.items()), ("", form.form_errors))
    label = field.replace("_", " ").capitalize()
    text = messages[0] if messages else "Check the form."
    await flash(request, f"{label}: {text}" if field else text, "error")
    return redirect(back)


# -- accounts ---------------------------------------------------------------------------


@page("/")
async def home(user: BaseUser) -> Response:
    return redirect("/boards" if user.is_authenticated else "/auth/login")


@page("/signup")
async def signup_page(request: Request, user: BaseUser) -> Response:
    # Asking for the user (anonymous or not) is what puts `user` in the template's context.
    return await render(request, "board/signup.html", {"form": SignupForm()})


@page("/signup", "POST", name="signup_submit", dependencies=[rate_limit("20/hour")])
async def signup(request: Request, form: Submitted[SignupForm], db: Session) -> Response:
    """Create an account and log it in."""
    if form.is_valid and await db.scalar(select(User.id).where(User.username == form.username)):
        form.add_error("username", "This username is taken; choose another.")
    if not form.is_valid:
        return await render(request, "board/signup.html", {"form": form}, status_code=422)
    user = User(username=form.username)
    await set_password(request.tidal, user, form.password)
    db.add(user)
    await db.flush()
    await login(request, user)
    await flash(request, f"Welcome, {user.username}! Start a board below.", "success")
    return redirect("/boards")


# -- boards -----------------------------------------------------------------------------


@page("/boards")
async def boards(request: Request, user: User, db: Session) -> Response:
    mine = await actions.boards_of(db, user)
    return await render(request, "board/boards.html", {"boards": mine, "form": TitleForm()})


@page("/boards", "POST", name="create_board")
async def create_board(
    request: Request, form: Submitted[TitleForm], user: User, db: Session
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, "/boards")
    board = await actions.create_board(db, user, form.title)
    return redirect(board_url(board))


@page("/boards/{board_id:int}")
async def show_board(request: Request, board: MemberBoard, user: User, db: Session) -> Response:
    lists = await actions.lists_of(db, board)
    cards: dict[int, list[Card]] = {board_list.id: [] for board_list in lists}
    for card in await actions.cards_of(db, board):
        cards[card.list_id].append(card)
    context = {
        "board": board,
        "lists": lists,
        "cards": cards,
        "members": await actions.members_of(db, board),
        "is_owner": board.owner_id == user.id,
        "page_data": {"board": board.id, "owner": board.owner_id, "me": user.id},
    }
    return await render(request, "board/board.html", context)


@page("/boards/{board_id:int}/title", "POST", name="rename_board")
async def rename_board(
    request: Request, board: MemberBoard, form: Submitted[TitleForm]
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, board_url(board))
    board.title = form.title
    return redirect(board_url(board))


@page("/boards/{board_id:int}/members", "POST", name="add_member")
async def add_member(
    request: Request, board: OwnedBoard, form: Submitted[MemberForm], db: Session
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, board_url(board))
    try:
        member = await actions.add_member(db, board, form.username)
    except HTTPError as exc:
        await flash(request, exc.detail, "error")
    else:
        await flash(request, f"{member.username} can now see and change this board.", "success")
    return redirect(board_url(board))


@page("/boards/{board_id:int}/members/{user_id:int}/remove", "POST", name="remove_member")
async def remove_member(
    request: Request, board: OwnedBoard, user_id: int, db: Session, channels: Channels
) -> Response:
    try:
        await actions.remove_member(db, board, user_id)
    except HTTPError as exc:
        await flash(request, exc.detail, "error")
        return redirect(board_url(board))
    await db.commit()  # their sockets are re-checked next, against the committed rows
    await channels.reauthorize_user(str(user_id))
    return redirect(board_url(board))


# -- lists and cards ----------------------------------------------------------------------


@page("/boards/{board_id:int}/lists", "POST", name="add_list")
async def add_list(
    request: Request, board: MemberBoard, form: Submitted[TitleForm], db: Session
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, board_url(board))
    await actions.add_list(db, board, form.title)
    return redirect(board_url(board))


@page("/lists/{list_id:int}/title", "POST", name="rename_list")
async def rename_list(
    request: Request, board_list: MemberList, form: Submitted[TitleForm]
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, board_url(board_list.board_id))
    board_list.title = form.title
    return redirect(board_url(board_list.board_id))


@page("/lists/{list_id:int}/cards", "POST", name="add_card")
async def add_card(
    request: Request, board_list: MemberList, form: Submitted[CardForm], db: Session
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, board_url(board_list.board_id))
    await actions.add_card(db, board_list, form.title, form.description)
    return redirect(board_url(board_list.board_id))


@page("/cards/{card_id:int}")
async def show_card(request: Request, card: MemberCard, db: Session) -> Response:
    board = await db.get_one(Board, card.board_id)
    context = {
        "board": board,
        "card": card,
        "lists": await actions.lists_of(db, board),
        "comments": await actions.comments_of(db, card),
        "form": CardForm(initial={"title": card.title, "description": card.description}),
        "comment_form": CommentForm(),
        "page_data": {"board": card.board_id, "card": card.id},
    }
    return await render(request, "board/card.html", context)


@page("/cards/{card_id:int}", "POST", name="edit_card")
async def edit_card(request: Request, card: MemberCard, form: Submitted[CardForm]) -> Response:
    if not form.is_valid:
        return await refuse(request, form, card_url(card))
    card.title, card.description = form.title, form.description
    await flash(request, "Card saved.", "success")
    return redirect(card_url(card))


@page("/cards/{card_id:int}/move", "POST", name="move_card")
async def move_card(
    request: Request, card: MemberCard, form: Submitted[MoveForm], db: Session
) -> Response:
    """The form alternative to dragging: choose a list and a place."""
    if not form.is_valid:
        return await refuse(request, form, card_url(card))
    try:
        await actions.move_card(db, card, form.list_id, form.position)
    except HTTPError as exc:
        await flash(request, exc.detail, "error")
    return redirect(board_url(card.board_id))


@page("/cards/{card_id:int}/delete", "POST", name="delete_card")
async def delete_card(request: Request, card: MemberCard, db: Session) -> Response:
    await db.delete(card)
    await flash(request, f"Card “{card.title}” deleted.", "success")
    return redirect(board_url(card.board_id))


@page("/cards/{card_id:int}/comments", "POST", name="add_comment")
async def add_comment(
    request: Request, card: MemberCard, form: Submitted[CommentForm], user: User, db: Session
) -> Response:
    if not form.is_valid:
        return await refuse(request, form, card_url(card))
    await actions.add_comment(db, card, user, form.body)
    return redirect(card_url(card) + "#comments")


__all__ = ["router"]
