"""Security headers: framing refused (clickjacking), a CSP that Tidal's own pages pass,
nosniff, referrer and opener policies, HSTS on HTTPS; each overridable, never doubled."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
from collections.abc import Callable

import pytest

from tidal import HTMLResponse, Settings, Tidal
from tidal.http.errors import html_page
from tidal.testing import TestClient

AppFactory = Callable[..., Tidal]

DEFAULTS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
}


def routes(app: Tidal) -> Tidal:
    @app.get("/json")
    async def json_view() -> dict[str, int]:
        return {"a": 1}

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse("<h1>Board</h1>")

    @app.get("/embeddable")
    async def embeddable() -> HTMLResponse:
        return HTMLResponse(
            "<p>widget</p>",
            headers={
                "X-Frame-Options": "SAMEORIGIN",
                "Content-Security-Policy": "frame-ancestors https://partner.example",
            },
        )

    return app


def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize("path", ["/json", "/page", "/missing"])
async def test_defaults_on_every_response(memory_app: AppFactory, path: str) -> None:
    app = routes(memory_app())
    async with TestClient(app) as client:
        response = await client.get(path, headers={"accept": "text/html"})
    for name, value in DEFAULTS.items():
        assert response.headers.get_list(name) == [value], name
    csp = csp_directives(response.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert "strict-transport-security" not in response.headers


def test_default_csp_admits_the_error_page_style_and_nothing_inline_else() -> None:
    """Tidal's error pages carry one inline <style>; the default CSP must allow exactly
    it. If tidal.http.errors.html_page changes its style, update the sha256 in
    tidal/conf/settings.py (content_security_policy) to the value printed here."""
    page = html_page("404 Not Found", "detail", "<pre>trace</pre>").decode()
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    csp = csp_directives(Settings().content_security_policy or "")
    assert csp["style-src"] == ["'self'", f"'sha256-{digest}'"]
    assert "<script" not in page
    assert " style=" not in page
    assert "'unsafe-inline'" not in str(csp)


async def test_response_headers_win_and_are_not_doubled(memory_app: AppFactory) -> None:
    app = routes(memory_app())
    async with TestClient(app) as client:
        response = await client.get("/embeddable")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == [
        "frame-ancestors https://partner.example"
    ]
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]


async def test_hsts_only_when_https(memory_app: AppFactory) -> None:
    app = routes(memory_app(https=True))
    async with TestClient(app, base_url="https://testserver") as client:
        response = await client.get("/json")
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    app = routes(memory_app(https=True, hsts_include_subdomains=True, hsts_preload=True))
    async with TestClient(app, base_url="https://testserver") as client:
        response = await client.get("/json")
    assert response.headers["strict-transport-security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    app = routes(memory_app(https=True, hsts_seconds=0))
    async with TestClient(app, base_url="https://testserver") as client:
        response = await client.get("/json")
    assert "strict-transport-security" not in response.headers


async def test_each_header_can_be_changed_or_turned_off(
    memory_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = routes(
        memory_app(
            x_frame_options="SAMEORIGIN",
            content_security_policy=None,
            content_type_nosniff=False,
            referrer_policy="no-referrer",
            cross_origin_opener_policy=None,
        )
    )
    with caplog.at_level(logging.WARNING, logger="tidal.security"):
        async with TestClient(app) as client:
            response = await client.get("/json")
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["referrer-policy"] == "no-referrer"
    for name in ("content-security-policy", "x-content-type-options", "cross-origin-opener-policy"):
        assert name not in response.headers
    logged = caplog.text
    assert "Content-Security-Policy header is OFF" in logged
    assert "nosniff is OFF" in logged
    assert "Cross-Origin-Opener-Policy header is OFF" in logged


async def test_no_framing_protection_at_all_is_logged(
    memory_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = routes(memory_app(x_frame_options=None, content_security_policy="default-src 'self'"))
    with caplog.at_level(logging.WARNING, logger="tidal.security"):
        async with TestClient(app) as client:
            response = await client.get("/page")
    assert "x-frame-options" not in response.headers
    assert "Clickjacking protection is OFF" in caplog.text


async def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tidal.conf import load_settings

    monkeypatch.setenv("TIDAL_X_FRAME_OPTIONS", "none")
    monkeypatch.setenv("TIDAL_HTTPS", "true")
    monkeypatch.setenv("TIDAL_HSTS_SECONDS", "600")
    settings = load_settings(environ=dict(os.environ))
    assert settings.x_frame_options is None
    assert settings.https is True
    assert settings.hsts_seconds == 600
