"""Security checks: the settings a production deployment must get right."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from tidal.checks.messages import CheckMessage, Error, Warning
from tidal.checks.registry import register

if TYPE_CHECKING:
    from tidal.app import Tidal

SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
KEY_HINT = (
    "Set TIDAL_SECRET_KEY to a long random value, e.g. the output of "
    'python -c "import secrets; print(secrets.token_urlsafe(50))".'
)


def weak_secret_key(key: str) -> bool:
    """Short, repetitive or placeholder keys can be guessed."""
    return (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE
        or key.lower().startswith(("insecure", "changeme", "django-insecure"))
    )


@register()
def check_secret_key(app: Tidal) -> Iterator[CheckMessage]:
    settings = app.settings
    if settings.debug:
        return
    if not settings.secret_key:
        yield Error("security.E001", "TIDAL_SECRET_KEY is not set.", KEY_HINT, "settings")
    elif weak_secret_key(settings.secret_key):
        yield Error(
            "security.E002",
            f"TIDAL_SECRET_KEY is weak: it needs at least {SECRET_KEY_MIN_LENGTH} characters "
            f"and {SECRET_KEY_MIN_UNIQUE} distinct ones, and no placeholder prefix.",
            KEY_HINT,
            "settings",
        )


@register()
def check_allowed_hosts(app: Tidal) -> Iterator[CheckMessage]:
    if not app.settings.debug and not app.settings.allowed_hosts:
        yield Error(
            "security.E003",
            "TIDAL_ALLOWED_HOSTS is empty, so no Host header would be accepted.",
            "Set TIDAL_ALLOWED_HOSTS to the site's host names, comma-separated, "
            "e.g. TIDAL_ALLOWED_HOSTS=example.com,www.example.com.",
            "settings",
        )


@register(deploy=True)
def check_debug_off(app: Tidal) -> Iterator[CheckMessage]:
    if app.settings.debug:
        yield Warning(
            "security.W001",
            "TIDAL_DEBUG is on: error pages show tracebacks and source details.",
            "Set TIDAL_DEBUG=false in production.",
            "settings",
        )


@register(deploy=True)
def check_wildcard_host(app: Tidal) -> Iterator[CheckMessage]:
    if "*" in app.settings.allowed_hosts:
        yield Warning(
            "security.W002",
            "TIDAL_ALLOWED_HOSTS contains '*', so forged Host headers are accepted.",
            "List the real host names instead of '*'.",
            "settings",
        )


__all__ = ["check_allowed_hosts", "check_debug_off", "check_secret_key", "weak_secret_key"]
