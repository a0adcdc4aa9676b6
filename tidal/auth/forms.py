"""The forms of the built-in pages."""

from __future__ import annotations

from typing import Annotated

import msgspec

from tidal.forms import Field, Form


class LoginForm(Form):
    username: Annotated[
        str,
        msgspec.Meta(max_length=254),
        Field(label="Username or e-mail", attrs={"autocomplete": "username"}),
    ]
    password: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(widget="password", attrs={"autocomplete": "current-password"}),
    ]
    next: Annotated[str, Field(widget="hidden")] = ""


class PasswordChangeForm(Form):
    old_password: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(
            widget="password",
            label="Current password",
            attrs={"autocomplete": "current-password"},
        ),
    ]
    new_password: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(widget="password", label="New password", attrs={"autocomplete": "new-password"}),
    ]
    new_password_again: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(
            widget="password",
            label="New password (again)",
            attrs={"autocomplete": "new-password"},
        ),
    ]

    async def clean(self) -> None:
        if self.cleaned.get("new_password") != self.cleaned.get("new_password_again"):
            self.add_error("new_password_again", "The two new passwords differ.")


class PasswordResetForm(Form):
    email: Annotated[
        str,
        msgspec.Meta(max_length=254),
        Field(widget="email", label="E-mail", attrs={"autocomplete": "email"}),
    ]


class SetPasswordForm(Form):
    new_password: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(widget="password", label="New password", attrs={"autocomplete": "new-password"}),
    ]
    new_password_again: Annotated[
        str,
        msgspec.Meta(max_length=4096),
        Field(
            widget="password",
            label="New password (again)",
            attrs={"autocomplete": "new-password"},
        ),
    ]

    async def clean(self) -> None:
        if self.cleaned.get("new_password") != self.cleaned.get("new_password_again"):
            self.add_error("new_password_again", "The two new passwords differ.")


__all__ = ["LoginForm", "PasswordChangeForm", "PasswordResetForm", "SetPasswordForm"]
