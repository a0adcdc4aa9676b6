"""The ``tidal.auth`` app: providers for ``user: User`` / ``user: BaseUser``, and its
security schemes in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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

    def openapi_security_schemes(self, app: Tidal) -> Mapping[str, Mapping[str, Any]]:
        """``bearerAuth`` (API tokens) and ``sessionCookie`` (a logged-in browser), the
        schemes the guards' operations require (``tidal.http.openapi.SecuritySchemeProvider``)."""
        from tidal.auth.guards import security_schemes

        return security_schemes(app)


__all__ = ["AuthApp"]
