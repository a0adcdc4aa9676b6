"""Wiring templates and static files into an application at construction time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidal.templates.staticfiles import AppStaticFiles, static_dirs

if TYPE_CHECKING:
    from tidal.app import Tidal

STATE_KEY = "tidal.templates.installed"


def install(app: Tidal) -> None:
    """Serve the installed apps' static files and prepare their templates. Idempotent.

    Mounts an ``AppStaticFiles`` at ``settings.static_url`` named ``"static"`` (what the
    ``static()`` template global resolves) when any installed app has a ``static/``
    folder and nothing is mounted under that name yet, and builds the Jinja2 environment
    at start-up (not on the first request) when any app has a ``templates/`` folder.

    ``Tidal()`` calls it after the apps' ``ready()`` hooks; set ``static_url`` to None to
    serve static files elsewhere (a CDN, or a mount of your own named ``"static"``).
    """
    if app.state.get(STATE_KEY):
        return
    directories = static_dirs(app)
    static_url = app.settings.static_url
    if (
        static_url
        and directories
        and not any(mount.name == "static" for mount in app.router.mounts)
    ):
        app.mount(static_url, AppStaticFiles(directories), name="static")
    if any(config.templates_dir is not None for config in app.apps):

        def prepare_templates() -> None:
            from tidal.templates.environment import get_environment

            get_environment(app)

        app.on_startup(prepare_templates)
    app.state[STATE_KEY] = True


__all__ = ["install"]
