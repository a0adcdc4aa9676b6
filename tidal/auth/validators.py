"""Password validation: minimum length, not all digits, not too similar to the user's
name or e-mail, not a commonly used password.

``validate_password(password, username=..., email=...)`` returns the problems as
sentences (an empty list when the password is acceptable). Each check is a function
``(password, context) -> str | None``; pass your own list as ``validators=`` to change
them.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@dataclasses.dataclass(frozen=True)
class PasswordContext:
    username: str = ""
    email: str = ""
    min_length: int = 10
    max_similarity: float = 0.7


Validator = Callable[[str, PasswordContext], "str | None"]


def minimum_length(password: str, context: PasswordContext) -> str | None:
    if len(password) < context.min_length:
        return f"This password is too short: use at least {context.min_length} characters."
    return None


def not_all_digits(password: str, context: PasswordContext) -> str | None:
    if password.isdigit():
        return "This password is entirely numeric: add letters or symbols."
    return None


def not_similar_to_user(password: str, context: PasswordContext) -> str | None:
    lowered = password.casefold()
    candidates = [context.username, context.email, context.email.partition("@")[0]]
    for value in candidates:
        value = value.casefold()
        if not value:
            continue
        parts = [value, *(p for p in re.split(r"\W+", value) if len(p) >= 3)]
        for part in parts:
            if len(part) >= 4 and part in lowered and len(part) * 2 >= len(lowered):
                return "This password is too similar to your username or e-mail."
            if SequenceMatcher(a=lowered, b=part).quick_ratio() >= context.max_similarity and (
                SequenceMatcher(a=lowered, b=part).ratio() >= context.max_similarity
            ):
                return "This password is too similar to your username or e-mail."
    return None


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip())


def not_common(password: str, context: PasswordContext) -> str | None:
    if password.strip().casefold() in common_passwords():
        return "This password is too common: it is among the first ones attackers try."
    return None


DEFAULT_VALIDATORS: tuple[Validator, ...] = (
    minimum_length,
    not_all_digits,
    not_similar_to_user,
    not_common,
)


def validate_password(
    password: str,
    *,
    username: str = "",
    email: str = "",
    min_length: int = 10,
    max_similarity: float = 0.7,
    validators: Sequence[Validator] = DEFAULT_VALIDATORS,
) -> list[str]:
    """The reasons ``password`` is not acceptable; empty when it is."""
    context = PasswordContext(username, email, min_length, max_similarity)
    return [problem for check in validators if (problem := check(password, context))]


__all__ = [
    "DEFAULT_VALIDATORS",
    "PasswordContext",
    "Validator",
    "common_passwords",
    "minimum_length",
    "not_all_digits",
    "not_common",
    "not_similar_to_user",
    "validate_password",
]
