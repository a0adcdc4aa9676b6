"""``AuthConfig``: every option of ``tidal.auth``, with its default, in one typed object.

``configure(app, AuthConfig(...))`` before the application starts sets them; without it the
defaults below apply. (These are candidates for ``TIDAL_AUTH_*`` settings.)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tidal.app import Tidal

STATE_KEY = "tidal.auth.config"


@dataclasses.dataclass(frozen=True)
class AuthConfig:
    """Options of the auth app."""

    #: Where browsers are sent when a page needs a logged-in user (``?next=`` is added).
    login_url: str = "/auth/login"
    #: Where a successful login goes when no safe ``next`` was given.
    login_redirect_url: str = "/"
    #: Where logout goes.
    logout_redirect_url: str = "/"
    #: Argon2id parameters (OWASP: m=19 MiB, t=2, p=1 at least). Changing them makes every
    #: stored hash be re-hashed at its user's next login.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65_536  # KiB
    argon2_parallelism: int = 4
    #: Login throttling: attempts per account name and per client address.
    login_per_account: str = "10/15minutes"
    login_per_ip: str = "100/hour"
    #: Password validation.
    password_min_length: int = 10
    password_max_similarity: float = 0.7
    #: API tokens: the prefix of each token (helps secret scanners) and default lifetime.
    token_prefix: str = "tdl_"  # noqa: S105 - a public prefix, not a secret
    token_default_days: int | None = 90
    #: Password reset: how long a link works (seconds), and requests per address / client.
    reset_timeout: int = 3600
    reset_per_account: str = "3/hour"
    reset_per_ip: str = "20/hour"
    #: Mail: ``"smtp"`` (the server of the ``mail_*`` settings), ``"console"`` (print),
    #: ``"file"`` (one .eml per message in ``mail_file_path``) or ``"memory"`` (tests).
    mail_backend: str = "console"
    mail_file_path: str = "sent_mail"
    default_from_email: str = "webmaster@localhost"


def configure(app: Tidal, config: AuthConfig) -> None:
    """Use ``config`` for ``app``'s auth; call before the application starts."""
    app.state[STATE_KEY] = config
    for key in (
        "tidal.auth.hasher",
        "tidal.auth.throttle",
        "tidal.auth.reset_throttle",
        "tidal.auth.mail",
    ):
        app.state.pop(key, None)


def get_config(app: Tidal) -> AuthConfig:
    config = app.state.get(STATE_KEY)
    if not isinstance(config, AuthConfig):
        config = AuthConfig()
        app.state[STATE_KEY] = config
    return config


__all__ = ["STATE_KEY", "AuthConfig", "configure", "get_config"]
