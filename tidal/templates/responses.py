"""``render``: a template and a context in, an ``HTMLResponse`` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from starlette.requests import Request

from tidal.exceptions import ImproperlyConfigured
from tidal.http.responses import HTMLResponse
from tidal.templates.environment import get_environment, template_dirs


async def render(
    request: Request,
    name: str | Sequence[str],
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str | None = None,
) -> HTMLResponse:
    """Render a template of the request's application into a response.

    It is a coroutine because Jinja renders asynchronously: ``return await render(request,
    "board/show.html", {"board": board})``. The template sees ``request`` and the context;
    ``url_for`` and ``static`` are always available.

    Args:
        request: the current request; it names the application whose templates are used.
        name: a template path like ``"board/show.html"``, or a list tried in order.
        context: the template's variables.
        status_code: the response status.
        headers: extra response headers.
        media_type: the content type, ``text/html`` unless given.
    """
    app = request.scope.get("tidal.app")
    if app is None:
        raise ImproperlyConfigured(
            "render() needs a request served by a Tidal application (no 'tidal.app' in "
            "its scope)."
        )
    environment = get_environment(app)
    try:
        template = environment.get_or_select_template(
            name if isinstance(name, str) else list(name)
        )
    except jinja2.TemplateNotFound as exc:
        folders = ", ".join(str(path) for path in template_dirs(app)) or "none"
        raise jinja2.TemplateNotFound(
            exc.name,
            f"Template {exc.name!r} not found. Installed apps' template folders, searched in "
            f"order: {folders}. Put it in <app>/templates/{exc.name}.",
        ) from None
    content = await template.render_async({"request": request, **(context or {})})
    return HTMLResponse(
        content, status_code, headers=dict(headers) if headers else None, media_type=media_type
    )


__all__ = ["render"]
