"""Password-reset tokens: signed, expiring and single-use.

A token is ``"<user id>.<state>"`` signed with a ``TimestampSigner`` (salt
``tidal.auth.reset``), where ``state`` is a digest of the user's password hash and last
login. Setting the new password changes the hash, so a used link stops working; so does
logging in. ``max_age`` (``AuthConfig.reset_timeout``) bounds its life.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from tidal.auth.config import get_config
from tidal.auth.models import User
from tidal.security.signing import BadSignature, TimestampSigner

if TYPE_CHECKING:
    from tidal.app import Tidal

SALT = "tidal.auth.reset"


def _state(user: User) -> str:
    last_login = user.last_login.isoformat() if user.last_login else ""
    text = f"{user.password}|{last_login}|{user.is_active}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def make_reset_token(app: Tidal, user: User) -> str:
    signer = TimestampSigner.from_settings(app.settings, salt=SALT)
    return signer.sign(f"{user.id}.{_state(user)}")


async def check_reset_token(app: Tidal, db: AsyncSession, token: str) -> User | None:
    """The active user ``token`` was made for, if it is valid, unexpired and unused."""
    signer = TimestampSigner.from_settings(app.settings, salt=SALT)
    try:
        value = signer.unsign(token, max_age=get_config(app).reset_timeout)
    except BadSignature:
        return None
    user_id, _, state = value.partition(".")
    if not user_id.isdigit():
        return None
    user = await db.get(User, int(user_id))
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(state, _state(user)):
        return None
    return user


__all__ = ["SALT", "check_reset_token", "make_reset_token"]
