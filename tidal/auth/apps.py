"""The ``tidal.auth`` app: providers for ``user: User`` / ``user: BaseUser``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidal.apps import AppConfig

if TYPE_CHECKING:
    from tidal.app import Tidal


class AuthApp(AppConfig):
    label = "auth"

    def ready(self, app: Tidal) -> None:
        from tidal.auth.guards import provide_current_user, provide_user
        from tidal.auth.models import BaseUser, User

        # ``User`` first: providers are matched in order and ``User`` is a ``BaseUser``.
        if User not in app.providers:
            app.provide(User, provide_current_user)
        if BaseUser not in app.providers:
            app.provide(BaseUser, provide_user)


__all__ = ["AuthApp"]
