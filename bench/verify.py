"""Response verification, done before any timing.

A fast wrong answer is worthless, so each (peer, workload) is checked the way
TechEmpower's verifier does before wrk touches it: status, required headers
(Server, Date, Content-Type, and Content-Length or chunked Transfer-Encoding),
content type and body. Runs whose wrk output counts error responses are
invalid too, because wrk happily reports req/s for 404s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

if TYPE_CHECKING:
    from bench.workloads import Workload
    from bench.wrk import WrkResult

Validator = Callable[[httpx.Response], list[str]]
"""Returns the problems found in a response; an empty list means valid."""


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Split ``text/plain; charset=utf-8`` into its media type and lowercased params."""
    media_type, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, val = part.partition("=")
        if sep:
            params[key.strip().lower()] = val.strip().strip('"').lower()
    return media_type.strip().lower(), params


def _snippet(body: bytes, limit: int = 80) -> str:
    return repr(body[:limit]) + ("..." if len(body) > limit else "")


def check_common_headers(response: httpx.Response) -> list[str]:
    """Headers TechEmpower requires on every response, whatever the test type."""
    problems: list[str] = []
    headers = response.headers
    for name in ("Server", "Date", "Content-Type"):
        if name not in headers:
            problems.append(f"missing required header {name}")
    if "Date" in headers:
        try:
            parsedate_to_datetime(headers["Date"])
        except (TypeError, ValueError):
            problems.append(f"unparseable Date header {headers['Date']!r}")
    chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
    length = headers.get("Content-Length")
    if length is None and not chunked:
        problems.append("neither Content-Length nor chunked Transfer-Encoding")
    elif length is not None and length.strip() != str(len(response.content)):
        problems.append(f"Content-Length {length} but body is {len(response.content)} bytes")
    return problems


def check_content_type(response: httpx.Response, media_type: str, charset: str) -> list[str]:
    """The media type must match; a charset, when given, must be ``charset``.

    A missing charset is accepted as TechEmpower does (UTF-8 is the default for
    JSON and what clients assume for the ASCII plaintext body).
    """
    value = response.headers.get("Content-Type")
    if value is None:
        return []  # already reported by check_common_headers
    got_type, params = parse_content_type(value)
    problems: list[str] = []
    if got_type != media_type:
        problems.append(f"content-type {value!r}, expected {media_type!r}")
    elif "charset" in params and params["charset"] != charset:
        problems.append(f"content-type {value!r} has charset other than {charset!r}")
    return problems


def _check_status(response: httpx.Response, status: int) -> list[str]:
    if response.status_code != status:
        return [
            f"status {response.status_code}, expected {status} (body {_snippet(response.content)})"
        ]
    return []


@dataclass(frozen=True)
class ExpectText:
    """Exact bytes: plaintext-style endpoints have exactly one right answer."""

    body: bytes
    media_type: str
    status: int = 200
    charset: str = "utf-8"

    def __call__(self, response: httpx.Response) -> list[str]:
        problems = _check_status(response, self.status)
        if problems:
            return problems  # a wrong status makes body checks noise
        problems += check_content_type(response, self.media_type, self.charset)
        if response.content != self.body:
            problems.append(f"body {_snippet(response.content)}, expected {_snippet(self.body)}")
        return problems


@dataclass(frozen=True)
class ExpectJson:
    """JSON compared by value, not bytes.

    Serializers legitimately differ in whitespace (Django's ``JsonResponse``
    emits ``{"message": "..."}``), and TechEmpower accepts that, so requiring
    identical bytes would wrongly disqualify future peers.
    """

    value: dict[str, Any] = field(hash=False)
    status: int = 200
    media_type: str = "application/json"
    charset: str = "utf-8"

    def __call__(self, response: httpx.Response) -> list[str]:
        problems = _check_status(response, self.status)
        if problems:
            return problems
        problems += check_content_type(response, self.media_type, self.charset)
        try:
            decoded = msgspec.json.decode(response.content)
        except msgspec.DecodeError as exc:
            problems.append(f"body is not valid JSON ({exc}): {_snippet(response.content)}")
            return problems
        if decoded != self.value:
            problems.append(f"JSON body {decoded!r}, expected {self.value!r}")
        return problems


def check_response(response: httpx.Response, validator: Validator) -> list[str]:
    """All problems with one response: the workload's own rules plus common headers."""
    return validator(response) + check_common_headers(response)


def verify_workload(
    base_url: str,
    workload: Workload,
    *,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> list[str]:
    """Fetch ``workload.path`` once and return its problems (empty: valid)."""
    own_client = client is None
    if client is None:
        # trust_env=False: a proxy from the environment must never sit in between.
        client = httpx.Client(timeout=timeout, trust_env=False)
    try:
        response = client.get(base_url.rstrip("/") + workload.path, headers=dict(workload.headers))
    except httpx.HTTPError as exc:
        return [f"request to {workload.path} failed: {type(exc).__name__}: {exc}"]
    finally:
        if own_client:
            client.close()
    return check_response(response, workload.validator)


def check_wrk_result(result: WrkResult) -> list[str]:
    """Problems visible only under load: error statuses wrk counted, or no traffic."""
    problems: list[str] = []
    if result.non_2xx:
        # wrk's label says "Non-2xx or 3xx"; it counts statuses >= 400.
        problems.append(f"wrk counted {result.non_2xx} non-2xx/3xx responses")
    if result.requests == 0:
        problems.append("wrk completed no requests")
    return problems
