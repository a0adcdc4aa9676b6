"""Wiring templates and static files into an application at construction time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidal.templates.staticfiles import AppStaticFiles, CollectedStaticFiles, static_dirs

if TYPE_CHECKING:
    from tidal.app import Tidal

STATE_KEY = "tidal.templates.installed"


def install(app: Tidal) -> None:
    """Serve static files and prepare the template engine. Idempotent.

    Mounts the static files at ``settings.static_url``, named ``"static"`` (what the
    ``static()`` template global resolves), unless something is mounted under that name
    already: in production with ``static_root`` set, the folder ``tidal collectstatic``
    filled (its manifest is read at start-up, which fails if it is missing); otherwise,
    and always in debug, the installed apps' ``static/`` folders. The template engine is
    built at start-up (not on the first request) when an app has a ``templates/`` folder
    or another engine is configured.

    ``Tidal()`` calls it after the apps' ``ready()`` hooks; set ``static_url`` to None to
    serve static files elsewhere (a CDN, or a mount of your own named ``"static"``).
    """
    if app.state.get(STATE_KEY):
        return
    from tidal.templates.manifest import serves_collected

    settings = app.settings
    static_url = settings.static_url
    mounted = any(mount.name == "static" for mount in app.router.mounts)
    collected: CollectedStaticFiles | None = None
    if static_url and not mounted:
        if serves_collected(settings):
            collected = CollectedStaticFiles(app)
            app.mount(static_url, collected, name="static")
        else:
            directories = static_dirs(app)
            if directories:
                app.mount(static_url, AppStaticFiles(directories), name="static")
    if collected is not None:
        app.on_startup(collected.load)
    elif serves_collected(settings):

        def read_manifest() -> None:
            from tidal.templates.manifest import get_manifest

            get_manifest(app)

        app.on_startup(read_manifest)
    if settings.template_engine != "jinja2" or any(
        config.templates_dir is not None for config in app.apps
    ):

        def prepare_templates() -> None:
            from tidal.templates.engine import get_engine

            get_engine(app)

        app.on_startup(prepare_templates)
    app.state[STATE_KEY] = True


__all__ = ["install"]
