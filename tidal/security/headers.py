"""The security headers a response gets unless it set its own (pure functions).

| header | defends against |
|---|---|
| ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'`` | clickjacking (framing the site) |
| ``Content-Security-Policy`` | injected scripts, styles and form targets (XSS damage) |
| ``X-Content-Type-Options: nosniff`` | browsers executing an upload as script or HTML |
| ``Referrer-Policy`` | URLs with secrets leaking to other sites |
| ``Cross-Origin-Opener-Policy: same-origin`` | cross-window attacks through ``window.opener`` |
| ``Strict-Transport-Security`` (``https`` on) | TLS stripping, cookies sent over plain HTTP |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tidal.conf.settings import Settings


def hsts_value(settings: Settings) -> str | None:
    """The Strict-Transport-Security value, or None when HSTS is off."""
    if not settings.https or settings.hsts_seconds <= 0:
        return None
    value = f"max-age={settings.hsts_seconds}"
    if settings.hsts_include_subdomains:
        value += "; includeSubDomains"
    if settings.hsts_preload:
        value += "; preload"
    return value


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    """``(name, value)`` of every security header the settings turn on, names lowercase."""
    headers: list[tuple[str, str]] = []
    if settings.x_frame_options:
        headers.append(("x-frame-options", settings.x_frame_options))
    if settings.content_security_policy:
        headers.append(("content-security-policy", settings.content_security_policy))
    if settings.content_type_nosniff:
        headers.append(("x-content-type-options", "nosniff"))
    if settings.referrer_policy:
        headers.append(("referrer-policy", settings.referrer_policy))
    if settings.cross_origin_opener_policy:
        headers.append(("cross-origin-opener-policy", settings.cross_origin_opener_policy))
    hsts = hsts_value(settings)
    if hsts:
        headers.append(("strict-transport-security", hsts))
    return headers


def blocks_framing(settings: Settings) -> bool:
    """Whether responses forbid being framed by other sites (clickjacking protection)."""
    csp = settings.content_security_policy or ""
    return bool(settings.x_frame_options) or "frame-ancestors" in csp


__all__ = ["blocks_framing", "hsts_value", "security_headers"]
