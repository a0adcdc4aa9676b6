"""The HTML forms of the board pages. Each also works without JavaScript; board.js sends
the same fields to the JSON API instead when it runs."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from tidal.auth import validate_password
from tidal.forms import Field, Form, validator

USERNAME = re.compile(r"[A-Za-z0-9_.-]+")


class SignupForm(Form):
    username: Annotated[
        str,
        msgspec.Meta(min_length=2, max_length=150),
        Field(help="Letters, digits and . _ -", attrs={"autocomplete": "username"}),
    ]
    password: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(widget="password", attrs={"autocomplete": "new-password"}),
    ]
    password_again: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(
            widget="password",
            label="Password (again)",
            attrs={"autocomplete": "new-password"},
        ),
    ]

    @validator("username")
    def plain_name(self, value: str) -> None:
        if not USERNAME.fullmatch(value):
            raise ValueError("Use only letters, digits and . _ -")

    async def clean(self) -> None:
        if self.password != self.password_again:
            self.add_error("password_again", "The two passwords differ.")
            return
        for problem in validate_password(self.password, username=self.username):
            self.add_error("password", problem)


class TitleForm(Form):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class CardForm(Form):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    description: Annotated[
        str, msgspec.Meta(max_length=10_000), Field(widget="textarea", strip=False)
    ] = ""


class MemberForm(Form):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]


class MoveForm(Form):
    list_id: int
    position: Annotated[int, msgspec.Meta(ge=0)] = 0


class CommentForm(Form):
    body: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=10_000),
        Field(widget="textarea", label="Comment"),
    ]


__all__ = ["CardForm", "CommentForm", "MemberForm", "MoveForm", "SignupForm", "TitleForm"]
