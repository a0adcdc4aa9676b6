"""Login, logout and password change pages (``/auth/...``, names ``auth:login``...).

Override a page by putting a template of the same name (``auth/login.html``) in an app
listed before ``tidal.auth``. The pages use no inline script or style, so they pass the
default Content-Security-Policy.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.background import BackgroundTask

from tidal.auth.authentication import (
    authenticate,
    check_password,
    login,
    logout,
    set_password,
    update_session_hash,
)
from tidal.auth.config import get_config
from tidal.auth.forms import LoginForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from tidal.auth.mail import EmailMessage, send_mail
from tidal.auth.models import User
from tidal.auth.reset import check_reset_token, make_reset_token
from tidal.auth.validators import validate_password
from tidal.db.sessions import Session
from tidal.forms import Submitted
from tidal.http.requests import Request
from tidal.http.responses import Response, redirect
from tidal.security.ratelimit import LoginThrottle
from tidal.templates.responses import render, render_to_string

THROTTLE_KEY = "tidal.auth.throttle"
RESET_THROTTLE_KEY = "tidal.auth.reset_throttle"


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site (never ``//evil.example`` or a URL with a
    scheme: an open redirect), else ``fallback``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return fallback
    return target


def get_throttle(request: Request) -> LoginThrottle:
    app = request.tidal
    throttle = app.state.get(THROTTLE_KEY)
    if not isinstance(throttle, LoginThrottle):
        config = get_config(app)
        throttle = LoginThrottle(
            per_account=config.login_per_account, per_ip=config.login_per_ip, name="auth.login"
        )
        app.state[THROTTLE_KEY] = throttle
    return throttle


async def login_page(request: Request, next: str = "") -> Response:
    form = LoginForm(initial={"next": next})
    return await render(request, "auth/login.html", {"form": form})


async def login_submit(request: Request, form: Submitted[LoginForm], db: Session) -> Response:
    if not form.is_valid:
        return await render(request, "auth/login.html", {"form": form}, status_code=422)
    throttle = get_throttle(request)
    await throttle.attempt(request, form.username)  # 429 over the limit, before hashing
    user = await authenticate(request, db, form.username, form.password)
    if user is None:
        form.add_error(None, "The username or password is wrong.")
        return await render(request, "auth/login.html", {"form": form}, status_code=422)
    await throttle.succeeded(request, form.username)
    await login(request, user)
    config = get_config(request.tidal)
    return redirect(safe_next(form.next, config.login_redirect_url))


async def logout_page(request: Request) -> Response:
    return await render(request, "auth/logout.html", {})


async def logout_submit(request: Request) -> Response:
    await logout(request)
    return redirect(get_config(request.tidal).logout_redirect_url)


async def password_change_page(request: Request, user: User) -> Response:
    return await render(request, "auth/password_change.html", {"form": PasswordChangeForm()})


async def password_change_submit(
    request: Request, user: User, form: Submitted[PasswordChangeForm], db: Session
) -> Response:
    app = request.tidal
    if form.is_valid:
        if not await check_password(app, user, form.old_password):
            form.add_error("old_password", "This is not your current password.")
        else:
            _validate_new_password(form, user, request)
    if not form.is_valid:
        return await render(request, "auth/password_change.html", {"form": form}, status_code=422)
    await set_password(app, user, form.new_password)
    await update_session_hash(request, user)
    return await render(request, "auth/password_change_done.html", {})


def _validate_new_password(
    form: SetPasswordForm | PasswordChangeForm, user: User, request: Request
) -> None:
    config = get_config(request.tidal)
    for problem in validate_password(
        form.new_password,
        username=user.username,
        email=user.email,
        min_length=config.password_min_length,
        max_similarity=config.password_max_similarity,
    ):
        form.add_error("new_password", problem)


async def password_reset_page(request: Request) -> Response:
    return await render(request, "auth/password_reset.html", {"form": PasswordResetForm()})


async def password_reset_submit(
    request: Request, form: Submitted[PasswordResetForm], db: Session
) -> Response:
    """Mail a reset link to the active users with this address. The answer is the same
    whether or not an account exists, so the page tells no one who has an account."""
    if not form.is_valid:
        return await render(request, "auth/password_reset.html", {"form": form}, status_code=422)
    app = request.tidal
    config = get_config(app)
    throttle = app.state.get(RESET_THROTTLE_KEY)
    if not isinstance(throttle, LoginThrottle):
        throttle = LoginThrottle(
            per_account=config.reset_per_account, per_ip=config.reset_per_ip, name="auth.reset"
        )
        app.state[RESET_THROTTLE_KEY] = throttle
    await throttle.attempt(request, form.email)
    query = select(User).where(User.email == form.email, User.is_active.is_(True))
    messages: list[EmailMessage] = []
    for user in (await db.execute(query)).scalars():
        if user.password.startswith("!"):
            continue  # no usable password: this account does not log in by password
        token = make_reset_token(app, user)
        path = str(app.url_path_for("auth:password_reset_confirm", token=token))
        link = str(request.base_url).rstrip("/") + path
        body = await render_to_string(
            request, "auth/password_reset_email.txt", {"user": user, "link": link}
        )
        messages.append(EmailMessage("Reset your password", body, [user.email]))
    response = await render(request, "auth/password_reset_sent.html", {})
    if messages:
        # Sent once the page has gone out, and failures only logged: neither the answer nor
        # its timing may tell whether the address has an account.
        response.background = BackgroundTask(send_mail, app, *messages, raise_errors=False)
    return response


async def password_reset_confirm_page(request: Request, token: str, db: Session) -> Response:
    user = await check_reset_token(request.tidal, db, token)
    context = {"form": SetPasswordForm(), "valid": user is not None}
    return await render(
        request, "auth/password_reset_confirm.html", context, status_code=200 if user else 400
    )


async def password_reset_confirm_submit(
    request: Request, token: str, form: Submitted[SetPasswordForm], db: Session
) -> Response:
    app = request.tidal
    user = await check_reset_token(app, db, token)
    if user is None:
        context = {"form": form, "valid": False}
        return await render(request, "auth/password_reset_confirm.html", context, status_code=400)
    if form.is_valid:
        _validate_new_password(form, user, request)
    if not form.is_valid:
        context = {"form": form, "valid": True}
        return await render(request, "auth/password_reset_confirm.html", context, status_code=422)
    await set_password(app, user, form.new_password)  # the link is spent: the hash changed
    return await render(request, "auth/password_reset_done.html", {})


__all__ = [
    "get_throttle",
    "login_page",
    "login_submit",
    "logout_page",
    "logout_submit",
    "password_change_page",
    "password_change_submit",
    "password_reset_confirm_page",
    "password_reset_confirm_submit",
    "password_reset_page",
    "password_reset_submit",
    "safe_next",
]
