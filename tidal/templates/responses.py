"""``render``: a template and a context in, an ``HTMLResponse`` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import HTTPConnection

from tidal.exceptions import ImproperlyConfigured
from tidal.http.responses import HTMLResponse
from tidal.templates.context import activate, deactivate, request_context
from tidal.templates.engine import get_engine


async def render_to_string(
    request: HTTPConnection, name: str | Sequence[str], context: Mapping[str, Any] | None = None
) -> str:
    """Render a template of the request's application to a string (an email body, a
    fragment to push over a WebSocket); ``render`` wraps it in a response."""
    app = request.scope.get("tidal.app")
    if app is None:
        raise ImproperlyConfigured(
            "render() needs a request served by a Tidal application (no 'tidal.app' in its scope)."
        )
    values, token = request_context(request.scope)
    values["request"] = request
    if context:
        values.update(context)
    reset = activate(token)
    try:
        content = await get_engine(app).render(name, values)
    finally:
        deactivate(reset)
    if token.placeholder is None:
        return content
    return await token.fill(content)


async def render(
    request: HTTPConnection,
    name: str | Sequence[str],
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str | None = None,
) -> HTMLResponse:
    """Render a template of the request's application into a response.

    It is a coroutine because templates render asynchronously: ``return await
    render(request, "board/show.html", {"board": board})``. Besides the context, the
    template sees ``request``, ``csrf_token``, ``user`` (when authentication is on) and the
    helpers ``csrf_input()``, ``get_flashed_messages()``, ``url_for()`` and ``static()``;
    forms in it render their CSRF field.

    Args:
        request: the current request; it names the application whose templates are used.
        name: a template path like ``"board/show.html"``, or a list tried in order.
        context: the template's variables.
        status_code: the response status (422 suits a form re-rendered with errors).
        headers: extra response headers.
        media_type: the content type, ``text/html`` unless given.
    """
    content = await render_to_string(request, name, context)
    return HTMLResponse(
        content, status_code, headers=dict(headers) if headers else None, media_type=media_type
    )


__all__ = ["render", "render_to_string"]
