"""Fixtures for the CLI: a click runner and throwaway project folders on ``sys.path``."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tidal.cli import main

SECRET = "cli-test-secret-" + "k3y!" * 12
VALID_ENV = f"TIDAL_SECRET_KEY={SECRET}\nTIDAL_ALLOWED_HOSTS=testserver\n"


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """``invoke("routes", "--sort", "name")``: run ``tidal`` in-process."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """``project({"app.py": source, ...}, env=...)`` writes files into a fresh folder and
    makes it the current one; modules imported from it are forgotten afterwards, so every
    test can have its own ``app.py``."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))  # also restores sys.path after the test
    before = set(sys.modules)

    def write(files: dict[str, str], *, env: str | None = VALID_ENV) -> Path:
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        if env is not None:
            (root / ".env").write_text(env, encoding="utf-8")
        importlib.invalidate_caches()
        return root

    yield write
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None)
        if file and Path(file).is_relative_to(root):
            del sys.modules[name]
