"""Finding the application for the CLI and the test plugin: ``module:attr``, ``TIDAL_APP``,
or ``app.py`` / ``main.py`` in the current folder."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from tidal.exceptions import AppNotFound

DEFAULT_MODULES = ("app", "main")


def resolve_target(target: str | None) -> str:
    """The ``module:attr`` to load: the argument, ``TIDAL_APP``, or a conventional file."""
    target = target or os.environ.get("TIDAL_APP")
    if target:
        return target if ":" in target else f"{target}:app"
    for module in DEFAULT_MODULES:
        if (Path.cwd() / f"{module}.py").is_file():
            return f"{module}:app"
    raise AppNotFound(
        "Could not find the application. Run from the project folder (with app.py), pass "
        "--app module:attribute, or set TIDAL_APP=module:attribute."
    )


def import_app(target: str | None = None) -> Any:
    """Import and return the application object named by ``target``."""
    target = resolve_target(target)
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise AppNotFound(
                f"Cannot import {module_name!r} (from {target!r}) in {cwd}. Run from the "
                "project folder or fix --app / TIDAL_APP."
            ) from exc
        raise
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise AppNotFound(
            f"Module {module_name!r} has no attribute {attr!r}. Name the application "
            f"object, e.g. --app {module_name}:app."
        ) from None
    return app


__all__ = ["import_app", "resolve_target"]
