"""Handler guards and the ``user`` providers.

Guards are dependencies: ``@app.get("/admin", dependencies=[staff_required])``, or on a
whole ``Router(dependencies=[login_required])``. When no one is logged in, API clients get
401 (``application/problem+json``) and browsers (``Accept: text/html``) a redirect to the
login page with ``?next=``; a logged-in user without the right gets 403.

The guards and the ``user: User`` provider carry an OpenAPI ``security`` marker: operations
that run one require ``bearerAuth`` or ``sessionCookie`` (the schemes ``security_schemes``
declares for the app) and list their 401 (and 403) responses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tidal.auth.authentication import bearer_token, get_user
from tidal.auth.config import get_config
from tidal.auth.models import BaseUser, User
from tidal.db.sessions import Session
from tidal.http.errors import Forbidden, HTTPError, Unauthorized, wants_html
from tidal.http.openapi import security
from tidal.http.requests import Request

if TYPE_CHECKING:
    from tidal.app import Tidal

#: The names of the OpenAPI security schemes of ``tidal.auth``.
BEARER_SCHEME = "bearerAuth"
SESSION_SCHEME = "sessionCookie"

_UNAUTHORIZED = (
    "Not logged in: send an API token as Authorization: Bearer, or log in. (Browsers asking "
    "for HTML without a token are redirected to the login page instead.)"
)
_FORBIDDEN = "The user is logged in but may not do this."
# Either credential lets a user in; a bearer request is never authenticated by its cookie.
_LOGGED_IN: tuple[dict[str, list[str]], ...] = ({BEARER_SCHEME: []}, {SESSION_SCHEME: []})
requires_user = security(*_LOGGED_IN, responses={401: _UNAUTHORIZED})
requires_right = security(*_LOGGED_IN, responses={401: _UNAUTHORIZED, 403: _FORBIDDEN})


def security_schemes(app: Tidal) -> dict[str, dict[str, Any]]:
    """The OpenAPI security schemes ``tidal.auth`` authenticates with: API tokens
    (``Authorization: Bearer``) and the session cookie of a logged-in browser."""
    prefix = get_config(app).token_prefix
    return {
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": f"An API token ({prefix}...), sent as Authorization: Bearer.",
        },
        SESSION_SCHEME: {
            "type": "apiKey",
            "in": "cookie",
            "name": app.settings.session_cookie_name,
            "description": (
                "The session of a user logged in through the login page. POST, PUT, PATCH "
                "and DELETE requests also need the page's CSRF token in X-CSRF-Token."
            ),
        },
    }


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


@requires_user
async def provide_current_user(request: Request, user: BaseUser) -> User:
    """``user: User``: the logged-in user; the handler is not called for anyone else
    (401 or the login page, as ``login_required``)."""
    if not isinstance(user, User):
        raise not_authenticated(request)
    return user


@requires_user
async def login_required(request: Request, user: BaseUser) -> None:
    """Guard: someone must be logged in (or hold a valid API token)."""
    if not user.is_authenticated:
        raise not_authenticated(request)


@requires_right
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

    @requires_right
    async def guard(request: Request, user: BaseUser) -> None:
        if not user.is_authenticated:
            raise not_authenticated(request)
        if not await user.has_perms(perms):
            raise Forbidden(f"You need the permission {', '.join(perms)} for this.")

    guard.__qualname__ = guard.__name__ = f"permission_required({', '.join(perms)})"
    return guard


__all__ = [
    "BEARER_SCHEME",
    "SESSION_SCHEME",
    "login_required",
    "not_authenticated",
    "permission_required",
    "provide_current_user",
    "provide_user",
    "requires_right",
    "requires_user",
    "security_schemes",
    "staff_required",
]
