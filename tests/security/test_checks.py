"""The security start-up checks: misconfigurations stop start-up; deploy checks list every
protection a production site lacks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import make_settings
from tidal import Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.security import csrf_exempt


def messages(deploy: bool = False, **settings: Any) -> dict[str, str]:
    app = Tidal(settings=make_settings(**settings))
    found = app.run_checks(deploy=deploy)
    # security.E001-E009 / W001-W009 belong to tidal/checks/security.py.
    return {m.id: str(m) for m in found if re.fullmatch(r"security\.[EW]0[1-9]\d", m.id)}


def test_a_default_project_passes_start_up_checks() -> None:
    assert messages() == {}


@pytest.mark.parametrize(
    ("settings", "check_id", "text"),
    [
        ({"session_cookie_samesite": "sometimes"}, "security.E010", "not a SameSite value"),
        ({"session_cookie_samesite": "none"}, "security.E011", "needs HTTPS"),
        ({"session_store": "cookies"}, "security.E012", "not a session store"),
        ({"session_store": "redis"}, "security.E012", "TIDAL_REDIS_URL is not set"),
        ({"session_idle_timeout": 0}, "security.E013", "at least one second"),
        ({"csrf_trusted_origins": ["example.com"]}, "security.E014", "is not an origin"),
        ({"allowed_hosts": ["https://example.com"]}, "security.E015", "looks like a URL"),
        ({"allowed_hosts": ["exa mple.com"]}, "security.E015", "not a valid host name"),
        ({"rate_limit_backend": "redis"}, "security.E016", "without TIDAL_REDIS_URL"),
        ({"rate_limit_backend": "disk"}, "security.E016", "cannot be used"),
        ({"session_idle_timeout": 99_999_999}, "security.W010", "never applies"),
    ],
)
def test_misconfiguration(settings: dict[str, Any], check_id: str, text: str) -> None:
    found = messages(**settings)
    assert check_id in found, found
    assert text in found[check_id]


def test_errors_stop_start_up() -> None:
    app = Tidal(settings=make_settings(session_cookie_samesite="none"))
    with pytest.raises(ImproperlyConfigured, match=r"security\.E011"):
        app.build()


def test_valid_entries_pass() -> None:
    assert (
        messages(
            allowed_hosts=[".example.com", "[::1]", "::1", "localhost", "*"],
            csrf_trusted_origins=["https://app.example.com:8443", "https://*.example.com"],
            session_cookie_samesite="none",
            https=True,
            redis_url="redis://localhost:6379/0",
        )
        == {}
    )


def test_deploy_checks_of_a_plain_project() -> None:
    found = messages(deploy=True)
    assert sorted(found) == ["security.W011", "security.W012", "security.W019"]
    assert "HSTS is off" in found["security.W011"]
    assert "session cookie is not marked Secure" in found["security.W012"]


def test_deploy_checks_of_a_hardened_project() -> None:
    assert messages(deploy=True, https=True, redis_url="redis://localhost:6379/0") == {}


def test_deploy_checks_of_protections_turned_off() -> None:
    found = messages(
        deploy=True,
        https=True,
        hsts_seconds=0,
        csrf_enabled=False,
        x_frame_options=None,
        content_security_policy=None,
        content_type_nosniff=False,
        rate_limit_enabled=False,
    )
    assert sorted(found) == [
        "security.W011",
        "security.W013",
        "security.W015",
        "security.W016",
        "security.W017",
        "security.W018",
        "security.W019",
    ]


def test_exempt_routes_are_listed() -> None:
    app = Tidal(settings=make_settings(https=True, redis_url="redis://localhost:6379/0"))

    @app.post("/hooks/github")
    @csrf_exempt
    async def github_hook() -> None: ...

    app.mount("/legacy", csrf_exempt(Tidal(settings=make_settings())))
    found = {m.id: str(m) for m in app.run_checks(deploy=True)}
    assert "security.W014" in found
    assert "2 route(s) are exempt" in found["security.W014"]
    assert "POST /hooks/github (tests.security.test_checks." in found["security.W014"]
    assert "mount /legacy" in found["security.W014"]


def test_import_stays_light() -> None:
    import json
    import subprocess
    import sys

    code = "import json, sys, tidal.security; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    )
    assert not {m.split(".")[0] for m in loaded} & {"redis", "jinja2", "sqlalchemy"}


def test_checks_register_on_import() -> None:
    import tidal.security
    from tidal.checks.registry import _checks

    registered = {entry.function for entry in _checks}
    assert tidal.security.checks.check_https in registered
