"""Handler guards and the ``user`` providers.

Guards are dependencies: ``@app.get("/admin", dependencies=[staff_required])``, or on a
whole ``Router(dependencies=[login_required])``. When no one is logged in, API clients get
401 (``application/problem+json``) and browsers (``Accept: text/html``) a redirect to the
login page with ``?next=``; a logged-in user without the right gets 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from tidal.auth.authentication import bearer_token, get_user
from tidal.auth.config import get_config
from tidal.auth.models import BaseUser, User
from tidal.db.sessions import Session
from tidal.http.errors import Forbidden, HTTPError, Unauthorized, wants_html
from tidal.http.requests import Request


async def provide_user(request: Request, db: Session) -> BaseUser:
    """``user: BaseUser``: the logged-in ``User``, or an ``AnonymousUser``."""
    return await get_user(request, db)


def not_authenticated(request: Request) -> HTTPError:
    """401 for API clients (and every bearer request); a redirect to the login page with
    ``?next=`` for browsers."""
    if wants_html(request.scope) and bearer_token(request.scope) is None:
        config = get_config(request.tidal)
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        location = f"{config.login_url}?next={quote(target, safe='/')}"
        return HTTPError(303, "Log in to see this page.", headers={"Location": location})
    return Unauthorized(
        "Authentication required: log in, or send an API token as Authorization: Bearer.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def provide_current_user(request: Request, user: BaseUser) -> User:
    """``user: User``: the logged-in user; the handler is not called for anyone else
    (401 or the login page, as ``login_required``)."""
    if not isinstance(user, User):
        raise not_authenticated(request)
    return user


async def login_required(request: Request, user: BaseUser) -> None:
    """Guard: someone must be logged in (or hold a valid API token)."""
    if not user.is_authenticated:
        raise not_authenticated(request)


async def staff_required(request: Request, user: BaseUser) -> None:
    """Guard: an active staff user (403 for other users)."""
    if not user.is_authenticated:
        raise not_authenticated(request)
    if not (getattr(user, "is_active", False) and getattr(user, "is_staff", False)):
        raise Forbidden("This page is for staff members only.")


def permission_required(*perms: str) -> Callable[[Request, BaseUser], Awaitable[None]]:
    """Guard factory: the user must hold every one of ``perms`` (``"board.change_card"``),
    directly, through a group, or as a superuser; 403 otherwise."""
    if not perms or not all(isinstance(p, str) and "." in p for p in perms):
        raise ValueError(
            f"permission_required({', '.join(map(repr, perms))}): give permissions as "
            "'<app label>.<codename>', e.g. 'board.change_card'."
        )

    async def guard(request: Request, user: BaseUser) -> None:
        if not user.is_authenticated:
            raise not_authenticated(request)
        if not await user.has_perms(perms):
            raise Forbidden(f"You need the permission {', '.join(perms)} for this.")

    guard.__qualname__ = guard.__name__ = f"permission_required({', '.join(perms)})"
    return guard


__all__ = [
    "login_required",
    "not_authenticated",
    "permission_required",
    "provide_current_user",
    "provide_user",
    "staff_required",
]
