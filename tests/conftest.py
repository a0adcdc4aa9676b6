"""Cross-cutting fixtures: a clean environment and an app factory for the tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tidal import Settings, Tidal

pytest_plugins = ["pytester"]

SECRET = "test-secret-key-" + "k3y!" * 12


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TIDAL_* variable from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("TIDAL_") and not key.startswith("TIDAL_TEST_"):
            monkeypatch.delenv(key)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"secret_key": SECRET, "allowed_hosts": ["testserver"]}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_app() -> Callable[..., Tidal]:
    """``make_app(debug=True, apps=[...])``: a Tidal app with valid test settings."""

    def factory(*, apps: tuple[str, ...] = (), **settings: Any) -> Tidal:
        return Tidal(apps=apps, settings=make_settings(**settings))

    return factory


@pytest.fixture
def app(make_app: Callable[..., Tidal]) -> Tidal:
    return make_app()
