"""The Jinja2 environment of an application: built once per app and cached on it.

Templates are looked up in the installed apps' ``templates/`` folders in installed-app
order, so the first app that has a template wins: list the project's own app before
``tidal.auth`` to override a built-in page. Autoescaping is on for HTML, XML and SVG, and
rendering is async (``await template.render_async(...)``), so templates never block the loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from tidal.exceptions import NoReverseMatch

if TYPE_CHECKING:
    from collections.abc import Callable

    from tidal.app import Tidal

AUTOESCAPE_EXTENSIONS = ("html", "htm", "xml", "svg")
STATE_KEY = "tidal.templates.environment"
STATIC_MOUNT = "static"


def template_dirs(app: Tidal) -> list[Path]:
    """Every installed app's ``templates/`` folder, in lookup (installed-app) order."""
    return [config.templates_dir for config in app.apps if config.templates_dir is not None]


def create_environment(app: Tidal) -> jinja2.Environment:
    """A new environment for ``app`` with the ``url_for`` and ``static`` globals."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(path) for path in template_dirs(app)])
    environment = jinja2.Environment(
        loader=loader,
        enable_async=True,
        autoescape=jinja2.select_autoescape(AUTOESCAPE_EXTENSIONS),
        # Checking every template's mtime on each render is for development only.
        auto_reload=app.settings.debug,
    )
    environment.globals["url_for"] = _url_for_global(app)
    environment.globals["static"] = _static_global(app)
    return environment


def get_environment(app: Tidal) -> jinja2.Environment:
    """The environment of ``app``, created on first use and then reused."""
    environment = app.state.get(STATE_KEY)
    if environment is None:
        environment = app.state[STATE_KEY] = create_environment(app)
    assert isinstance(environment, jinja2.Environment)
    return environment


def _root_path(context: jinja2.runtime.Context) -> str:
    """The prefix the app is served under (a mount or a proxy's root path), if any."""
    request = context.get("request")
    scope = getattr(request, "scope", None)
    return str(scope.get("root_path", "")) if scope is not None else ""


def _url_for_global(app: Tidal) -> Callable[..., str]:
    @jinja2.pass_context
    def url_for(context: jinja2.runtime.Context, name: str, /, **params: Any) -> str:
        """``{{ url_for("show_board", board_id=board.id) }}``: the path of a named route."""
        return _root_path(context) + str(app.url_path_for(name, **params))

    return url_for


def _static_global(app: Tidal) -> Callable[..., str]:
    @jinja2.pass_context
    def static(context: jinja2.runtime.Context, path: str, /) -> str:
        """``{{ static("home/site.css") }}``: the URL of a file in an app's ``static/``."""
        try:
            url = app.url_path_for(STATIC_MOUNT, path=path)
        except NoReverseMatch:
            raise NoReverseMatch(
                f"static({path!r}): no static files are served. Put the file in an installed "
                "app's static/ folder, and make sure tidal.templates.install(app) ran."
            ) from None
        return _root_path(context) + str(url)

    return static


__all__ = [
    "AUTOESCAPE_EXTENSIONS",
    "create_environment",
    "get_environment",
    "template_dirs",
]
