"""Installed apps: Python packages that contribute routes, templates, static files, models,
CLI commands and checks to a project, found by convention.

An app ``board`` may have ``board/routes.py`` (a ``router``), ``board/models.py``,
``board/templates/``, ``board/static/``, ``board/commands.py`` (a ``commands`` list of
click commands) and ``board/apps.py`` with an ``AppConfig`` subclass for anything else.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    import click

    from tidal.app import Tidal
    from tidal.http.routing import Router


def _import_optional(dotted: str) -> ModuleType | None:
    """Import ``dotted`` if it exists; an ImportError *inside* it is a real error."""
    try:
        spec = importlib.util.find_spec(dotted)
    except ModuleNotFoundError:
        return None
    if spec is None:
        return None
    return importlib.import_module(dotted)


class AppConfig:
    """What one installed app contributes. Subclass it in ``<app>/apps.py`` to override
    ``label`` or add a ``ready()`` hook; Tidal instantiates it with the app's dotted name."""

    label: str = ""

    def __init__(self, name: str, module: ModuleType) -> None:
        self.name = name
        self.module = module
        self.label = self.label or name.rpartition(".")[2]
        if module.__file__ is None:
            raise ImproperlyConfigured(f"App {name!r} must be a regular package with __init__.py.")
        self.path = Path(module.__file__).parent

    @property
    def templates_dir(self) -> Path | None:
        path = self.path / "templates"
        return path if path.is_dir() else None

    @property
    def static_dir(self) -> Path | None:
        path = self.path / "static"
        return path if path.is_dir() else None

    @property
    def router(self) -> Router | None:
        from tidal.http.routing import Router

        module = _import_optional(f"{self.name}.routes")
        router = getattr(module, "router", None) if module else None
        if module is not None and not isinstance(router, Router):
            raise ImproperlyConfigured(
                f"{self.name}.routes must define `router = tidal.Router()`; found {router!r}."
            )
        return router

    @property
    def models_module(self) -> ModuleType | None:
        return _import_optional(f"{self.name}.models")

    @property
    def commands(self) -> list[click.Command]:
        module = _import_optional(f"{self.name}.commands")
        return list(getattr(module, "commands", [])) if module else []

    def ready(self, app: Tidal) -> None:
        """Called once all apps are loaded: register providers, checks, signal handlers."""

    def __repr__(self) -> str:
        return f"<AppConfig {self.name}>"


def load_app(name: str) -> AppConfig:
    """Import the app package ``name`` and build its config."""
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise ImproperlyConfigured(
                f"Installed app {name!r} cannot be imported. Check the name in "
                "Tidal(apps=[...]) and that its folder is on sys.path (run from the project "
                "folder)."
            ) from exc
        raise
    apps_module = _import_optional(f"{name}.apps")
    config_class: type[AppConfig] = AppConfig
    if apps_module is not None:
        found = [
            value
            for value in vars(apps_module).values()
            if inspect.isclass(value)
            and issubclass(value, AppConfig)
            and value is not AppConfig
            and value.__module__ == apps_module.__name__
        ]
        if len(found) > 1:
            raise ImproperlyConfigured(
                f"{name}.apps defines several AppConfig subclasses: {[c.__name__ for c in found]}."
            )
        if found:
            config_class = found[0]
    return config_class(name, module)


def load_apps(names: list[str] | tuple[str, ...]) -> list[AppConfig]:
    configs = [load_app(n) for n in names]
    labels: dict[str, str] = {}
    for config in configs:
        if config.label in labels:
            raise ImproperlyConfigured(
                f"Apps {labels[config.label]!r} and {config.name!r} share the label "
                f"{config.label!r}; set `label` on one's AppConfig."
            )
        labels[config.label] = config.name
    return configs


__all__ = ["AppConfig", "load_app", "load_apps"]
