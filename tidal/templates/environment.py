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
from markupsafe import Markup

from tidal.exceptions import NoReverseMatch
from tidal.templates.context import LazyCsrfToken, csrf_input_html
from tidal.templates.filters import FILTERS
from tidal.templates.manifest import get_manifest

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, MutableMapping

    from tidal.app import Tidal

AUTOESCAPE_EXTENSIONS = ("html", "htm", "xml", "svg")
STATE_KEY = "tidal.templates.environment"
STATIC_MOUNT = "static"


def template_dirs(app: Tidal) -> list[Path]:
    """Every installed app's ``templates/`` folder, in lookup (installed-app) order."""
    return [config.templates_dir for config in app.apps if config.templates_dir is not None]


class Environment(jinja2.Environment):
    """Jinja's environment, with each template's globals one flat dict.

    Every render copies the globals into a fresh context; Jinja keeps them in a
    ``ChainMap`` over the environment's, which is several times slower to copy than a dict
    (about 15% of rendering the fortunes page: ``bench/fortunes_render.py``). The catch is
    the rule Jinja already states: set globals before the first template is loaded.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def create_environment(app: Tidal) -> jinja2.Environment:
    """A new environment for ``app`` with the filters and globals of
    ``tidal.templates.filters`` and ``tidal.templates.context``."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(path) for path in template_dirs(app)])
    environment = Environment(
        loader=loader,
        enable_async=True,
        autoescape=jinja2.select_autoescape(AUTOESCAPE_EXTENSIONS),
        # Checking every template's mtime on each render is for development only.
        auto_reload=app.settings.debug,
    )
    environment.filters.update(FILTERS)
    environment.globals["url_for"] = _url_for_global(app)
    environment.globals["static"] = _static_global(app)
    environment.globals["csrf_input"] = csrf_input
    environment.globals["get_flashed_messages"] = get_flashed_messages
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
        """``{{ static("home/site.css") }}``: the URL of a file in an app's ``static/``;
        its content-hashed name once ``tidal collectstatic`` ran (in production)."""
        manifest = get_manifest(app)
        if manifest is not None:
            hashed = manifest.paths.get(path.lstrip("/"))
            if hashed is None:
                raise NoReverseMatch(
                    f"static({path!r}): no such file among the collected static files "
                    f"({app.settings.static_root}). Check the path, or run `tidal "
                    "collectstatic` again if the file is new."
                )
            path = hashed
        try:
            url = app.url_path_for(STATIC_MOUNT, path=path)
        except NoReverseMatch:
            raise NoReverseMatch(
                f"static({path!r}): no static files are served. Put the file in an installed "
                "app's static/ folder, and make sure tidal.templates.install(app) ran."
            ) from None
        return _root_path(context) + str(url)

    return static


@jinja2.pass_context
async def csrf_input(context: jinja2.runtime.Context) -> Markup:
    """``{{ csrf_input() }}`` inside a ``<form method="post">``: the hidden CSRF field."""
    token = context.get("csrf_token")
    if isinstance(token, LazyCsrfToken):
        return csrf_input_html(await token.resolve())
    request = context.get("request")
    scope = getattr(request, "scope", None)
    if scope is None:
        return Markup("")
    return csrf_input_html(await LazyCsrfToken(scope).resolve())


@jinja2.pass_context
async def get_flashed_messages(
    context: jinja2.runtime.Context, levels: Collection[str] | None = None
) -> list[Any]:
    """``{% for message in get_flashed_messages() %}``: the flash messages, shown once."""
    request = context.get("request")
    scope = getattr(request, "scope", None)
    if scope is None:
        return []
    from tidal.forms.flash import get_flashed_messages as take

    return list(await take(scope, levels=levels))


__all__ = [
    "AUTOESCAPE_EXTENSIONS",
    "Environment",
    "create_environment",
    "get_environment",
    "template_dirs",
]
