"""The template engine protocol, and Jinja2 behind it.

``render`` talks to an engine through one method, so another template language can be
plugged in with the ``template_engine`` setting (``"package.module:factory"``, a callable
taking the application)::

    class MakoEngine:
        def __init__(self, app: Tidal) -> None:
            self.lookup = TemplateLookup(directories=[...])

        async def render(self, name: str | Sequence[str], context: dict[str, Any]) -> str:
            return self.lookup.get_template(name).render(**context)

The context an engine receives holds the view's variables plus ``request``,
``csrf_token`` and ``user`` (see ``tidal.templates.context``); template helpers such as
``url_for`` are the engine's to offer (the Jinja engine registers them as globals).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tidal.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    import jinja2

    from tidal.app import Tidal

STATE_KEY = "tidal.templates.engine"
BUILTIN = "jinja2"


@runtime_checkable
class TemplateEngine(Protocol):
    """What ``render`` needs of a template engine."""

    async def render(self, name: str | Sequence[str], context: dict[str, Any]) -> str:
        """Render template ``name`` (or the first existing one of a list) with
        ``context``; raise an exception naming the template when it does not exist."""
        ...


EngineFactory = Callable[["Tidal"], TemplateEngine]


class JinjaEngine:
    """Jinja2 templates of the installed apps (``tidal.templates.environment``)."""

    def __init__(self, app: Tidal) -> None:
        from tidal.templates.environment import get_environment, template_dirs

        self.environment: jinja2.Environment = get_environment(app)
        self.search_paths = template_dirs(app)
        # Compiled templates by name. Jinja's own cache is an LRU with a lock, which costs
        # more per lookup than a dict; templates only change on disk in development, where
        # ``auto_reload`` makes every lookup go through Jinja to notice.
        self.templates: dict[str | tuple[str, ...], jinja2.Template] | None = (
            None if self.environment.auto_reload else {}
        )

    def get_template(self, name: str | Sequence[str]) -> jinja2.Template:
        key = name if isinstance(name, str) else tuple(name)
        cache = self.templates
        if cache is not None:
            found = cache.get(key)
            if found is not None:
                return found
        template = self._load(name)
        if cache is not None:
            cache[key] = template
        return template

    def _load(self, name: str | Sequence[str]) -> jinja2.Template:
        import jinja2

        try:
            return self.environment.get_or_select_template(
                name if isinstance(name, str) else list(name)
            )
        except jinja2.TemplateNotFound as exc:
            folders = ", ".join(str(path) for path in self.search_paths) or "none"
            raise jinja2.TemplateNotFound(
                exc.name,
                f"Template {exc.name!r} not found. Installed apps' template folders, searched "
                f"in order: {folders}. Put it in <app>/templates/{exc.name}.",
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            from tidal.templates.debug import add_template_note

            add_template_note(exc, self.search_paths)
            raise

    async def render(self, name: str | Sequence[str], context: dict[str, Any]) -> str:
        template = self.get_template(name)
        try:
            return await template.render_async(context)
        except Exception as exc:
            from tidal.templates.debug import add_template_note

            add_template_note(exc, self.search_paths)
            raise


def load_engine(app: Tidal) -> TemplateEngine:
    """A new engine as the ``template_engine`` setting names it."""
    spec = app.settings.template_engine
    if spec == BUILTIN:
        return JinjaEngine(app)
    module_name, _, attribute = spec.partition(":")
    hint = (
        f'TIDAL_TEMPLATE_ENGINE={spec!r} must be "{BUILTIN}" or "package.module:factory", '
        "a callable taking the application and returning an object with "
        "`async def render(name, context) -> str`."
    )
    if not module_name or not attribute:
        raise ImproperlyConfigured(hint)
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ImproperlyConfigured(f"{hint} ({exc})") from exc
    engine = factory(app)
    if not isinstance(engine, TemplateEngine):
        raise ImproperlyConfigured(f"{hint} {spec} returned {engine!r}.")
    return engine


def get_engine(app: Tidal) -> TemplateEngine:
    """The application's engine, created on first use (at start-up by ``install``)."""
    engine: TemplateEngine | None = app.state.get(STATE_KEY)
    if engine is None:
        engine = app.state[STATE_KEY] = load_engine(app)
    return engine


__all__ = ["EngineFactory", "JinjaEngine", "TemplateEngine", "get_engine", "load_engine"]
