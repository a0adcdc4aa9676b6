"""Start-up checks: a production app refuses to start with a missing or weak secret key or
no allowed hosts, naming the setting and the fix."""

from __future__ import annotations

import pytest

from tidal import Settings, Tidal
from tidal.checks import Warning as CheckWarning
from tidal.exceptions import ImproperlyConfigured
from tidal.testing import LifespanError, TestClient

GOOD_KEY = "Zq8-Lp2!Wx7#" * 5


def ids(app: Tidal, deploy: bool = False) -> list[str]:
    return [m.id for m in app.run_checks(deploy=deploy)]


def test_missing_secret_key_stops_startup() -> None:
    app = Tidal(settings=Settings(allowed_hosts=["example.com"]))
    assert ids(app) == ["security.E001"]
    with pytest.raises(ImproperlyConfigured) as info:
        app.build()
    message = str(info.value)
    assert "(security.E001) TIDAL_SECRET_KEY is not set." in message
    assert "HINT: Set TIDAL_SECRET_KEY" in message


@pytest.mark.parametrize("key", ["short", "a" * 60, "insecure-" + "x1y2z3" * 10])
def test_weak_secret_key(key: str) -> None:
    app = Tidal(settings=Settings(secret_key=key, allowed_hosts=["example.com"]))
    assert ids(app) == ["security.E002"]


def test_empty_allowed_hosts() -> None:
    app = Tidal(settings=Settings(secret_key=GOOD_KEY))
    assert ids(app) == ["security.E003"]
    with pytest.raises(ImproperlyConfigured, match=r"TIDAL_ALLOWED_HOSTS=example\.com"):
        app.build()


def test_debug_relaxes_and_deploy_warns() -> None:
    app = Tidal(settings=Settings(debug=True))
    assert ids(app) == []
    assert "security.W001" in ids(app, deploy=True)
    assert "security.W001" not in ids(app, deploy=False)
    wild = Tidal(settings=Settings(secret_key=GOOD_KEY, allowed_hosts=["*"]))
    assert "security.W002" in ids(wild, deploy=True)
    assert "security.W002" not in ids(app, deploy=True)


def test_silenced_checks() -> None:
    app = Tidal(settings=Settings(secret_key=GOOD_KEY, silenced_checks=["security.E003"]))
    assert ids(app) == []


async def test_failed_checks_fail_the_lifespan() -> None:
    app = Tidal(settings=Settings(allowed_hosts=["x"]))
    with pytest.raises(LifespanError, match=r"security\.E001"):
        async with TestClient(app):
            pass


def test_app_checks_and_warnings_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = Tidal(settings=Settings(debug=True))

    @app.check
    def custom(app: Tidal) -> list[CheckWarning]:  # type: ignore[valid-type]
        return [CheckWarning("board.W001", "Boards have no colour.", "Add one.")]

    app.build()
    assert "(board.W001) Boards have no colour." in caplog.text
