"""Templates (Jinja2, autoescaped, async), template filters and static files of installed
apps.

``render`` and the environment import Jinja2 on first use, so an application that never
renders a template does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tidal.templates.integration import install as install
from tidal.templates.staticfiles import AppStaticFiles as AppStaticFiles

if TYPE_CHECKING:
    from tidal.templates.engine import JinjaEngine as JinjaEngine
    from tidal.templates.engine import TemplateEngine as TemplateEngine
    from tidal.templates.engine import get_engine as get_engine
    from tidal.templates.environment import create_environment as create_environment
    from tidal.templates.environment import get_environment as get_environment
    from tidal.templates.responses import render as render
    from tidal.templates.responses import render_to_string as render_to_string

_LAZY = {
    "JinjaEngine": "tidal.templates.engine",
    "TemplateEngine": "tidal.templates.engine",
    "create_environment": "tidal.templates.environment",
    "get_engine": "tidal.templates.engine",
    "get_environment": "tidal.templates.environment",
    "render": "tidal.templates.responses",
    "render_to_string": "tidal.templates.responses",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AppStaticFiles",
    "JinjaEngine",
    "TemplateEngine",
    "create_environment",
    "get_engine",
    "get_environment",
    "install",
    "render",
    "render_to_string",
]
