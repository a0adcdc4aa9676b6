"""Helpers for tests of forms and templates: an application with sessions and CSRF on, and
reading the CSRF token out of a page."""

from __future__ import annotations

import re
from typing import Any

from tidal import Middleware, Tidal
from tidal.middleware.sessions import SessionMiddleware
from tidal.security import build_protections, install
from tidal.security.protections import INSTALLED_KEY

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _stack_has_sessions(app: Tidal) -> bool:
    layer: Any = app._stack
    while layer is not None:
        if isinstance(layer, SessionMiddleware):
            return True
        layer = getattr(layer, "app", None)
    return False


def protect(app: Tidal) -> Tidal:
    """Sessions and CSRF on ``app``: what ``Tidal`` does by itself once the security
    wiring is in ``_build_stack``; until then added as the outermost user middleware."""
    if not app.state.get(INSTALLED_KEY):
        install(app)
    probe = Tidal(settings=app.settings)
    probe.build()
    if not _stack_has_sessions(probe):
        app.user_middleware.insert(0, Middleware(lambda inner: build_protections(app, inner)))
    return app


def csrf_token(html: str) -> str:
    """The CSRF token of the first form field carrying one in ``html``."""
    found = _TOKEN.search(html)
    assert found is not None, f"no CSRF field in {html[:300]!r}"
    return found.group(1)


__all__ = ["csrf_token", "protect"]
