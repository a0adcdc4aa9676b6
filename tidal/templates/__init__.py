"""Templates (Jinja2, autoescaped, async) and static files of installed apps.

``render`` and the environment import Jinja2 on first use, so an application that never
renders a template does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidal.templates.integration import install as install
from tidal.templates.staticfiles import AppStaticFiles as AppStaticFiles

if TYPE_CHECKING:
    from tidal.templates.environment import create_environment as create_environment
    from tidal.templates.environment import get_environment as get_environment
    from tidal.templates.responses import render as render

_LAZY = {
    "create_environment": "tidal.templates.environment",
    "get_environment": "tidal.templates.environment",
    "render": "tidal.templates.responses",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["AppStaticFiles", "create_environment", "get_environment", "install", "render"]
