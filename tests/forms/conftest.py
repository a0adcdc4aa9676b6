"""Fixtures of the form tests: a protected application factory (sessions, CSRF)."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.forms.support import protect
from tidal import Tidal


@pytest.fixture
def secure_app(make_app: Callable[..., Tidal]) -> Callable[..., Tidal]:
    """``secure_app(**settings)``: a test app with sessions and CSRF protection on."""

    def factory(*, apps: tuple[str, ...] = (), **settings: Any) -> Tidal:
        return protect(make_app(apps=apps, session_store="memory", **settings))

    return factory


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """``templates({"signup.html": "..."})`` writes an installed app ``<name>`` with those
    templates and returns its name (unique per test); it is forgotten afterwards."""
    root = tmp_path / "form_apps"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    name = f"form_pages_{uuid.uuid4().hex[:8]}"

    def write(files: dict[str, str]) -> str:
        package = root / name
        (package / "templates").mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        for relative, content in files.items():
            path = package / "templates" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        importlib.invalidate_caches()
        return name

    yield write
    for module in set(sys.modules) - before:
        if module == name or module.startswith(name + "."):
            del sys.modules[module]
