"""Fixtures for templates and static files: throwaway installed apps on ``sys.path``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def write_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """``write_apps({"shop/templates/shop/list.html": "..."})`` writes files (and each
    top-level folder's ``__init__.py``) into an importable folder; the packages are
    forgotten after the test."""
    root = tmp_path / "apps"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)

    def write(files: dict[str, str | bytes]) -> Path:
        for relative, content in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            package = root / Path(relative).parts[0]
            if package.is_dir():
                (package / "__init__.py").touch()
        importlib.invalidate_caches()
        return root

    yield write
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None)
        if file and Path(file).is_relative_to(root):
            del sys.modules[name]
