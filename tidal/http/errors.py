"""HTTP errors a handler may raise, and how every error becomes a response.

APIs get ``application/problem+json`` (RFC 9457); browsers (``Accept: text/html``) get a
small HTML page. The same ``HTTPError`` serves both.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import msgspec

from tidal.types import Scope, Send

PROBLEM_JSON = b"application/problem+json"
HTML_UTF8 = b"text/html; charset=utf-8"


class FieldError(msgspec.Struct):
    """One invalid input: where it was (``in``: path/query/header/cookie/body), which field
    (``path``, a name or a JSON path like ``$.items[0].price``) and what is wrong."""

    path: str
    message: str
    in_: str = msgspec.field(default="body", name="in")


class HTTPError(Exception):
    """Raise from a handler to answer with ``status`` and a problem body.

    Args:
        status: the HTTP status code.
        detail: a sentence for the client saying what went wrong and, ideally, what to do.
        headers: extra response headers (e.g. ``Retry-After``).
        errors: per-field problems, listed in the body under ``errors``.
    """

    status: int = 500

    def __init__(
        self,
        status: int | None = None,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        self.title = _phrase(self.status)
        self.detail = detail if detail is not None else self.title
        self.headers = dict(headers or {})
        self.errors = list(errors or [])
        super().__init__(self.detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Survives pickling, so errors raised in cpu_bound worker processes keep their status.
        return (_rebuild, (type(self), self.status, self.detail, self.headers, self.errors))


def _rebuild(
    cls: type[HTTPError],
    status: int,
    detail: str,
    headers: dict[str, str],
    errors: list[FieldError],
) -> HTTPError:
    error = cls.__new__(cls)
    HTTPError.__init__(error, status, detail, headers=headers, errors=errors)
    return error


class StatusError(HTTPError):
    """An ``HTTPError`` whose class fixes the status: ``raise NotFound("No such board.")``."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] | None = None,
    ) -> None:
        super().__init__(None, detail, headers=headers, errors=errors)


class BadRequest(StatusError):
    status = 400


class Forbidden(StatusError):
    status = 403


class NotFound(StatusError):
    status = 404


class Unauthorized(StatusError):
    status = 401


class MethodNotAllowed(HTTPError):
    status = 405

    def __init__(self, allowed: Sequence[str], detail: str | None = None) -> None:
        allow = ", ".join(sorted(allowed))
        super().__init__(
            None,
            detail=detail or f"Method not allowed here; allowed: {allow}.",
            headers={"Allow": allow},
        )


class Conflict(StatusError):
    status = 409


class PayloadTooLarge(StatusError):
    status = 413


class UnsupportedMediaType(StatusError):
    status = 415


class ValidationFailed(HTTPError):
    """422: input had the right syntax but wrong types, missing fields or bad values."""

    status = 422

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        count = len(errors)
        super().__init__(
            None,
            detail=detail or f"{count} invalid field{'s' if count != 1 else ''}.",
            errors=errors,
        )


class TooManyRequests(StatusError):
    status = 429


class ServiceUnavailable(StatusError):
    status = 503


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def wants_html(scope: Scope) -> bool:
    """True for browsers: their Accept header names text/html; API clients' does not."""
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            return b"text/html" in value
    return False


class _Problem(msgspec.Struct, omit_defaults=True):
    title: str
    status: int
    detail: str
    type: str = "about:blank"
    errors: list[FieldError] = msgspec.field(default_factory=list)
    request_id: str | None = None


_encode = msgspec.json.Encoder().encode


def problem_body(error: HTTPError, request_id: str | None = None) -> bytes:
    return _encode(
        _Problem(
            error.title, error.status, error.detail, errors=error.errors, request_id=request_id
        )
    )


def html_page(title: str, detail: str, extra: str = "") -> bytes:
    """A plain, self-contained error page; everything interpolated is escaped by the caller
    (``extra``) or here."""
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:4rem auto;"
        "padding:0 1rem;color:#1f2933}h1{font-size:1.5rem}pre{background:#f5f7fa;"
        "padding:1rem;overflow:auto;font-size:13px}</style>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p>{extra}</html>"
    ).encode()


async def send_error(scope: Scope, send: Send, error: HTTPError) -> None:
    """Answer ``error`` in the form the client asked for."""
    request_id = scope.get("tidal.request_id")
    if wants_html(scope):
        body = html_page(f"{error.status} {error.title}", error.detail)
        if error.errors:
            items = "".join(
                f"<li><code>{html.escape(e.in_)} {html.escape(e.path)}</code>: "
                f"{html.escape(e.message)}</li>"
                for e in error.errors
            )
            body = body.replace(b"</html>", f"<ul>{items}</ul></html>".encode())
        content_type = HTML_UTF8
    else:
        body = problem_body(error, request_id)
        content_type = PROBLEM_JSON
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
    ]
    headers.extend(
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()
    )
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def describe(exc: msgspec.ValidationError, where: str, name: str | None = None) -> FieldError:
    """Turn msgspec's "Expected `int`, got `str` - at `$.price`" into a ``FieldError``."""
    text = str(exc)
    message, sep, at = text.rpartition(" - at `")
    if not sep:
        return FieldError(name or "$", text, where)
    path = at.rstrip("`")
    if name is not None:
        path = name + path[1:] if path.startswith("$") else f"{name}.{path}"
    return FieldError(path, message, where)


def problem(status: int, detail: str, **kwargs: Any) -> HTTPError:
    """Shorthand for ``HTTPError(status, detail, ...)``."""
    return HTTPError(status, detail, **kwargs)


__all__ = [
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "HTTPError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "StatusError",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "describe",
    "html_page",
    "problem",
    "problem_body",
    "send_error",
    "wants_html",
]
