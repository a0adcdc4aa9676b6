"""Demo data for ``tidal demo``: two users sharing a board with a few lists, cards and
comments. Seeding twice changes nothing."""

from __future__ import annotations

import msgspec
from sqlalchemy import select

import tidal.db
from board import actions
from board.models import Board
from tidal import Tidal
from tidal.auth import User, set_password

# Fixed and printed by `tidal demo`: the demo serves 127.0.0.1 only by default.
PASSWORD = "tidal-demo-board"
USERS = ("demo", "sam")
BOARD = "Launch plan"
CARDS: dict[str, list[tuple[str, str]]] = {
    "To do": [
        ("Write the launch announcement", "Two paragraphs and a screenshot of the board."),
        ("Invite the beta testers", ""),
        ("Record a two-minute demo video", ""),
    ],
    "Doing": [
        ("Fix the login redirect on Safari", "Safari drops the ?next= parameter after login."),
        ("Design the onboarding e-mails", ""),
    ],
    "Done": [
        ("Set up PostgreSQL and Redis", "Two workers share them: `tidal demo --workers 2`."),
        ("Choose a name", ""),
    ],
}
COMMENTS = [
    ("Fix the login redirect on Safari", "sam", "I can reproduce it on iOS 17 too."),
    ("Fix the login redirect on Safari", "demo", "Found it: the cookie was SameSite=strict."),
    ("Set up PostgreSQL and Redis", "sam", "Both run in CI now."),
]


class Seeded(msgspec.Struct):
    """What ``seed`` made (or found): the users' names, their password and the board."""

    usernames: tuple[str, ...]
    password: str
    board_id: int
    created: bool


async def seed(app: Tidal) -> Seeded:
    """Create the demo users and their board, unless the first user exists already."""
    async with tidal.db.session(app) as db:
        existing = await db.scalar(select(User).where(User.username == USERS[0]))
        if existing is not None:
            board = await db.scalar(
                select(Board).where(Board.owner_id == existing.id).order_by(Board.id)
            )
            return Seeded(USERS, PASSWORD, board.id if board else 0, created=False)
        users = {}
        for name in USERS:
            user = User(username=name)
            await set_password(app, user, PASSWORD)
            db.add(user)
            users[name] = user
        await db.flush()
        owner = users[USERS[0]]
        board = await actions.create_board(db, owner, BOARD, lists=list(CARDS))
        for name in USERS[1:]:
            await actions.add_member(db, board, name)
        by_title = {}
        for board_list in await actions.lists_of(db, board):
            for title, description in CARDS[board_list.title]:
                card = await actions.add_card(db, board_list, title, description)
                by_title[title] = card
        for title, author, body in COMMENTS:
            await actions.add_comment(db, by_title[title], users[author], body)
        # A board sam owns alone: demo does not see it (nor its broadcasts).
        await actions.create_board(db, users["sam"], "Sam's reading list", lists=["Next"])
        return Seeded(USERS, PASSWORD, board.id, created=True)


__all__ = ["PASSWORD", "USERS", "Seeded", "seed"]
