"""Start-up checks for the protections (ids ``security.E010``+ and ``security.W010``+).

Misconfigurations that would fail on the first request fail at start-up instead; the deploy
checks (``tidal check --deploy``) list every protection a production site lacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from tidal.checks.messages import CheckMessage, Error, Warning
from tidal.checks.registry import register
from tidal.security.headers import blocks_framing
from tidal.security.hosts import invalid_pattern
from tidal.security.origins import normalize_origin
from tidal.security.protections import exempt_routes
from tidal.security.ratelimit import backend_name
from tidal.sessions.session import SAMESITE_VALUES
from tidal.sessions.stores import APP_NAME, available_stores, database_app_installed, store_name

if TYPE_CHECKING:
    from tidal.app import Tidal

HTTPS_HINT = (
    "Serve the site over HTTPS and set TIDAL_HTTPS=true (also behind a proxy that terminates TLS)."
)


@register()
def check_session_settings(app: Tidal) -> Iterator[CheckMessage]:
    settings = app.settings
    samesite = settings.session_cookie_samesite.lower()
    if samesite not in SAMESITE_VALUES:
        yield Error(
            "security.E010",
            f"TIDAL_SESSION_COOKIE_SAMESITE={settings.session_cookie_samesite!r} is not a "
            "SameSite value.",
            "Use lax (the default), strict, or none.",
            "settings",
        )
    elif samesite == "none" and not settings.https:
        yield Error(
            "security.E011",
            "TIDAL_SESSION_COOKIE_SAMESITE=none needs HTTPS: browsers drop SameSite=None "
            "cookies that are not Secure.",
            HTTPS_HINT + " Or keep SameSite=lax.",
            "settings",
        )
    name = store_name(app)
    if name not in available_stores():
        yield Error(
            "security.E012",
            f"TIDAL_SESSION_STORE={settings.session_store!r} is not a session store.",
            f"Use one of auto, {', '.join(available_stores())}.",
            "settings",
        )
    elif name == "redis" and not settings.redis_url:
        yield Error(
            "security.E012",
            "TIDAL_SESSION_STORE=redis but TIDAL_REDIS_URL is not set.",
            "Set TIDAL_REDIS_URL=redis://host:6379/0, or TIDAL_SESSION_STORE=auto.",
            "settings",
        )
    elif name == "database" and not database_app_installed(app):
        yield Error(
            "security.E012",
            f"TIDAL_SESSION_STORE=database but the {APP_NAME!r} app, which owns the session "
            "table, is not installed.",
            f'Add "{APP_NAME}" to Tidal(apps=[...]) and run `tidal db migrate`.',
            "settings",
        )
    if settings.session_idle_timeout < 1 or settings.session_absolute_timeout < 1:
        yield Error(
            "security.E013",
            "Session timeouts must be at least one second.",
            "Set TIDAL_SESSION_IDLE_TIMEOUT and TIDAL_SESSION_ABSOLUTE_TIMEOUT in seconds.",
            "settings",
        )
    if settings.session_idle_timeout > settings.session_absolute_timeout:
        yield Warning(
            "security.W010",
            "TIDAL_SESSION_IDLE_TIMEOUT is longer than TIDAL_SESSION_ABSOLUTE_TIMEOUT, so "
            "the idle timeout never applies.",
            "Make the idle timeout the shorter one.",
            "settings",
        )


@register()
def check_origins_and_hosts(app: Tidal) -> Iterator[CheckMessage]:
    settings = app.settings
    for origin in settings.csrf_trusted_origins:
        if normalize_origin(origin.replace("*.", "wildcard.", 1)) is None:
            yield Error(
                "security.E014",
                f"TIDAL_CSRF_TRUSTED_ORIGINS entry {origin!r} is not an origin.",
                "Write scheme://host[:port], e.g. https://app.example.com or "
                "https://*.example.com.",
                "settings",
            )
    for host in settings.allowed_hosts:
        problem = invalid_pattern(host)
        if problem:
            yield Error(
                "security.E015",
                f"TIDAL_ALLOWED_HOSTS entry {host!r} {problem}.",
                "Write host names like example.com, .example.com (with subdomains) or [::1].",
                "settings",
            )
    name = backend_name(settings)
    if name not in ("memory", "redis") or (name == "redis" and not settings.redis_url):
        yield Error(
            "security.E016",
            f"TIDAL_RATE_LIMIT_BACKEND={settings.rate_limit_backend!r} cannot be used"
            + (" without TIDAL_REDIS_URL." if name == "redis" else "."),
            "Use auto (Redis when TIDAL_REDIS_URL is set), memory, or redis with TIDAL_REDIS_URL.",
            "settings",
        )


@register(deploy=True)
def check_https(app: Tidal) -> Iterator[CheckMessage]:
    settings = app.settings
    if not settings.https:
        yield Warning(
            "security.W011",
            "HSTS is off: TIDAL_HTTPS is not set, so browsers may reach the site over plain "
            "HTTP, where traffic can be read and changed.",
            HTTPS_HINT,
            "settings",
        )
        yield Warning(
            "security.W012",
            "The session cookie is not marked Secure (TIDAL_HTTPS is off), so browsers "
            "send it over plain HTTP too.",
            HTTPS_HINT,
            "settings",
        )
    elif settings.hsts_seconds <= 0:
        yield Warning(
            "security.W011",
            "HSTS is off: TIDAL_HSTS_SECONDS is 0.",
            "Set TIDAL_HSTS_SECONDS=31536000 once the whole site works over HTTPS.",
            "settings",
        )


@register(deploy=True)
def check_protections_on(app: Tidal) -> Iterator[CheckMessage]:
    settings = app.settings
    if not settings.csrf_enabled:
        yield Warning(
            "security.W013",
            "CSRF protection is off (TIDAL_CSRF_ENABLED=false): other sites can make "
            "logged-in users' browsers post to this one.",
            "Remove TIDAL_CSRF_ENABLED=false; exempt single routes with @csrf_exempt.",
            "settings",
        )
    else:
        exempt = exempt_routes(app)
        if exempt:
            yield Warning(
                "security.W014",
                f"{len(exempt)} route(s) are exempt from CSRF protection: " + "; ".join(exempt),
                "Make sure each authenticates its requests another way (a webhook "
                "signature, a bearer token).",
                "routes",
            )
    if not blocks_framing(settings):
        yield Warning(
            "security.W015",
            "Clickjacking protection is off: neither X-Frame-Options nor CSP frame-ancestors "
            "is sent, so other sites can frame these pages.",
            "Keep TIDAL_X_FRAME_OPTIONS=DENY or a CSP with frame-ancestors.",
            "settings",
        )
    if not settings.content_security_policy:
        yield Warning(
            "security.W016",
            "No Content-Security-Policy is sent, so an injected script runs unhindered.",
            "Keep the default TIDAL_CONTENT_SECURITY_POLICY, relaxed where needed.",
            "settings",
        )
    if not settings.content_type_nosniff:
        yield Warning(
            "security.W017",
            "X-Content-Type-Options: nosniff is off: browsers may run uploads as scripts.",
            "Remove TIDAL_CONTENT_TYPE_NOSNIFF=false.",
            "settings",
        )
    if not settings.rate_limit_enabled:
        yield Warning(
            "security.W018",
            "Rate limiting is off (TIDAL_RATE_LIMIT_ENABLED=false), including the login "
            "throttle: passwords can be guessed at full speed.",
            "Remove TIDAL_RATE_LIMIT_ENABLED=false.",
            "settings",
        )
    if store_name(app) == "memory":
        yield Warning(
            "security.W019",
            "Sessions are kept in process memory: they are lost on restart and not shared "
            "between worker processes or hosts.",
            f'Add "{APP_NAME}" to the installed apps (sessions in the database, after '
            "`tidal db migrate`), or set TIDAL_REDIS_URL.",
            "settings",
        )


__all__ = [
    "check_https",
    "check_origins_and_hosts",
    "check_protections_on",
    "check_session_settings",
]
