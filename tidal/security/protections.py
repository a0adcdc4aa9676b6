"""Wiring the protections into an application: the middleware chain, the injected types,
and the start-up log of every protection turned off.

``Tidal`` calls ``install(app)`` when it is constructed (providers must exist before routes
compile) and ``compile_protections(app, inner)`` when it builds its middleware stack, just
inside the outer middleware:

    CORS -> outer (request id, security headers, errors) -> hosts -> sessions -> csrf
    -> inner (GZip, user middleware, router)

The outer middleware runs the first three steps inline for plain HTTP requests (one frame
instead of four: measured, each layer costs a request about half a microsecond) and
the chain as built here for everything else (WebSockets, Tidal apps mounted in others).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tidal.http.requests import Request
from tidal.http.routing import RouteTable
from tidal.security.csrf import CsrfToken, RouteTarget, is_csrf_exempt, provide_csrf_token
from tidal.security.headers import blocks_framing, hsts_value
from tidal.security.hosts import effective_patterns
from tidal.security.origins import websocket_origins
from tidal.sessions.session import HttpSession, SessionConfig, get_session
from tidal.sessions.stores import get_session_store
from tidal.types import ASGIApp, Scope

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.conf.settings import Settings
    from tidal.middleware.hosts import AllowedHostsMiddleware
    from tidal.middleware.sessions import SessionMiddleware

logger = logging.getLogger("tidal.security")
INSTALLED_KEY = "tidal.security.installed"


async def provide_session(request: Request) -> HttpSession:
    """The provider behind ``HttpSession`` parameters: the request's session, loaded."""
    return await get_session(request.scope)


@dataclass(frozen=True, eq=False)
class Protections:
    """The protections of one application, compiled once.

    Attributes:
        chain: hosts -> sessions -> CSRF -> ``inner``, each layer a middleware: how
            WebSocket handshakes and the scopes of mounted apps are checked.
        hosts: the host validation layer, or None when ``allowed_hosts`` allows any.
        sessions: the session layer (its store and cookie settings).
        unsafe: what an HTTP request with an unsafe method goes to once its host is
            checked and its session attached: the CSRF layer, or ``inner`` with CSRF off.
        inner: what a safe HTTP request (GET, HEAD, OPTIONS, TRACE) goes to.
    """

    chain: ASGIApp
    hosts: AllowedHostsMiddleware | None
    sessions: SessionMiddleware
    unsafe: ASGIApp
    inner: ASGIApp


def compile_protections(app: Tidal, inner: ASGIApp) -> Protections:
    """The protections ``app.settings`` turn on around ``inner``; logs (``tidal.security``,
    WARNING) one line per protection turned off. Called once, when the application
    builds."""
    # Imported here: the middleware modules import this package's submodules.
    from tidal.middleware.csrf import CSRFMiddleware
    from tidal.middleware.hosts import AllowedHostsMiddleware
    from tidal.middleware.sessions import SessionMiddleware

    settings = app.settings
    unsafe = inner
    if settings.csrf_enabled:
        unsafe = CSRFMiddleware(inner, settings=settings, route_target=route_target(app))
    sessions = SessionMiddleware(
        unsafe, store=lambda: get_session_store(app), config=SessionConfig.from_settings(settings)
    )
    chain: ASGIApp = sessions
    hosts = None
    if "*" not in effective_patterns(settings.allowed_hosts, settings.debug):
        hosts = AllowedHostsMiddleware(
            sessions, allowed_hosts=settings.allowed_hosts, debug=settings.debug
        )
        chain = hosts
    for line in disabled_protections(app):
        logger.warning("%s", line)
    return Protections(chain, hosts, sessions, unsafe, inner)


def build_protections(app: Tidal, inner: ASGIApp) -> ASGIApp:
    """Wrap ``inner`` in the protections ``app.settings`` turn on, outermost first:
    allowed hosts, sessions, CSRF (see ``compile_protections``)."""
    return compile_protections(app, inner).chain


def install(app: Tidal) -> None:
    """Register the ``HttpSession`` and ``CsrfToken`` providers. Idempotent; call it before
    the application compiles its routes (``Tidal.__init__`` does)."""
    if app.state.get(INSTALLED_KEY):
        return
    app.state[INSTALLED_KEY] = True
    # A provider the application already has (``Tidal(providers=...)``) is kept.
    if HttpSession not in app.providers:
        app.provide(HttpSession, provide_session)
    if CsrfToken not in app.providers:
        app.provide(CsrfToken, provide_csrf_token)


def route_target(app: Tidal) -> RouteTarget:
    """A function finding the handler (or mounted app) a scope is routed to, the way
    ``Tidal._dispatch`` does, so the CSRF middleware can read ``@csrf_exempt``."""

    def find(scope: Scope) -> object:
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        return _target(app.route_table, path, scope)

    return find


def _target(table: RouteTable, path: str, scope: Scope) -> object:
    match = table.match(path)
    if match is not None:
        if scope["type"] == "websocket":
            if match.websocket is not None:
                return match.websocket.handler
        else:
            route = match.by_method.get(scope["method"])
            if route is not None:
                return route.handler
    mount = table.find_mount(path)
    if mount is None:
        return None
    inner = getattr(mount.app, "route_table", None)
    if not is_csrf_exempt(mount.app) and isinstance(inner, RouteTable):
        return _target(inner, path[len(mount.prefix) :] or "/", scope)
    return mount.app


def exempt_routes(app: Tidal) -> list[str]:
    """``"POST /hooks (module.handler)"`` for every route and mount marked
    ``@csrf_exempt``."""
    routes, mounts = app.router.flatten()
    found = []
    for route in routes:
        if is_csrf_exempt(route.handler):
            methods = "WEBSOCKET" if route.websocket else ",".join(sorted(route.methods))
            where = f"{route.handler.__module__}.{route.handler.__qualname__}"
            found.append(f"{methods} {route.path} ({where})")
    found.extend(f"mount {m.prefix}" for m in mounts if is_csrf_exempt(m.app))
    return found


def disabled_settings(settings: Settings) -> list[str]:
    """A sentence for every protection the settings turn off."""
    lines = []
    if "*" in effective_patterns(settings.allowed_hosts, settings.debug):
        lines.append("Host header validation is OFF (TIDAL_ALLOWED_HOSTS contains '*').")
    if not settings.csrf_enabled:
        lines.append("CSRF protection is OFF (TIDAL_CSRF_ENABLED=false).")
    elif "*" in websocket_origins(settings):
        lines.append(
            "Cross-site WebSocket protection is OFF (TIDAL_REALTIME_ALLOWED_ORIGINS contains '*')."
        )
    if not blocks_framing(settings):
        lines.append(
            "Clickjacking protection is OFF (no X-Frame-Options and no CSP frame-ancestors)."
        )
    elif not settings.x_frame_options:
        lines.append("The X-Frame-Options header is OFF (TIDAL_X_FRAME_OPTIONS=none).")
    if not settings.content_security_policy:
        lines.append(
            "The Content-Security-Policy header is OFF (TIDAL_CONTENT_SECURITY_POLICY=none)."
        )
    if not settings.content_type_nosniff:
        lines.append("X-Content-Type-Options: nosniff is OFF (TIDAL_CONTENT_TYPE_NOSNIFF=false).")
    if not settings.referrer_policy:
        lines.append("The Referrer-Policy header is OFF (TIDAL_REFERRER_POLICY=none).")
    if not settings.cross_origin_opener_policy:
        lines.append(
            "The Cross-Origin-Opener-Policy header is OFF (TIDAL_CROSS_ORIGIN_OPENER_POLICY=none)."
        )
    if settings.https and hsts_value(settings) is None:
        lines.append("HSTS is OFF although TIDAL_HTTPS is on (TIDAL_HSTS_SECONDS=0).")
    if settings.session_cookie_samesite.lower() == "none":
        lines.append("SameSite protection of the session cookie is OFF (SameSite=None).")
    if not settings.rate_limit_enabled:
        lines.append("Rate limiting is OFF (TIDAL_RATE_LIMIT_ENABLED=false).")
    return [f"Protection turned off: {line}" for line in lines]


def disabled_protections(app: Tidal) -> list[str]:
    """The start-up log lines: disabled settings, then each CSRF-exempt route."""
    lines = disabled_settings(app.settings)
    if app.settings.csrf_enabled:
        lines.extend(
            f"Protection turned off: CSRF protection is OFF for {route} (@csrf_exempt)."
            for route in exempt_routes(app)
        )
    return lines


__all__ = [
    "Protections",
    "build_protections",
    "compile_protections",
    "disabled_protections",
    "disabled_settings",
    "exempt_routes",
    "install",
    "provide_session",
    "route_target",
]
