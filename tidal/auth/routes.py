"""The auth pages, under ``/auth`` and named ``auth:<name>``."""

from __future__ import annotations

from tidal.auth import views
from tidal.http.routing import Router

router = Router("/auth", name="auth")
router.route("/login", ("GET",), name="login", include_in_schema=False)(views.login_page)
router.route("/login", ("POST",), name="login_submit", include_in_schema=False)(views.login_submit)
router.route("/logout", ("GET",), name="logout", include_in_schema=False)(views.logout_page)
router.route("/logout", ("POST",), name="logout_submit", include_in_schema=False)(
    views.logout_submit
)
router.route("/password", ("GET",), name="password_change", include_in_schema=False)(
    views.password_change_page
)
router.route("/password", ("POST",), name="password_change_submit", include_in_schema=False)(
    views.password_change_submit
)
router.route("/reset", ("GET",), name="password_reset", include_in_schema=False)(
    views.password_reset_page
)
router.route("/reset", ("POST",), name="password_reset_submit", include_in_schema=False)(
    views.password_reset_submit
)
router.route("/reset/{token}", ("GET",), name="password_reset_confirm", include_in_schema=False)(
    views.password_reset_confirm_page
)
router.route(
    "/reset/{token}", ("POST",), name="password_reset_confirm_submit", include_in_schema=False
)(views.password_reset_confirm_submit)

__all__ = ["router"]
