"""Password validation."""

from __future__ import annotations

from tidal.auth import validate_password
from tidal.auth.validators import common_passwords


def test_a_good_password_passes() -> None:
    assert validate_password("correct horse battery", username="ada") == []


def test_minimum_length() -> None:
    assert validate_password("short1!", min_length=10) == [
        "This password is too short: use at least 10 characters."
    ]
    assert validate_password("short1!", min_length=6) == []


def test_all_digits() -> None:
    problems = validate_password("90210557312")
    assert problems == ["This password is entirely numeric: add letters or symbols."]


def test_too_similar_to_username_or_email() -> None:
    similar = "This password is too similar to your username or e-mail."
    assert similar in validate_password("lovelace1815", username="lovelace1815x")
    assert similar in validate_password("adalovelace!", username="ada", email="adalovelace@x.org")
    assert validate_password("a very different one", username="lovelace") == []


def test_common_passwords() -> None:
    assert "password123" in common_passwords()
    problems = validate_password("Password123", min_length=4)
    assert problems == ["This password is too common: it is among the first ones attackers try."]
