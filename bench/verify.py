"""Response verification, done before any timing.

A fast wrong answer is worthless, so each (peer, workload) is checked the way
TechEmpower's verifier does before wrk touches it: status, required headers
(Server, Date, Content-Type, and Content-Length or chunked Transfer-Encoding),
content type and body. Runs whose wrk output counts error responses are
invalid too, because wrk happily reports req/s for 404s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Protocol

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


def _decode_json(response: httpx.Response, problems: list[str]) -> Any:
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError as exc:
        problems.append(f"body is not valid JSON ({exc}): {_snippet(response.content)}")
        return None


# --- database-backed test types ---------------------------------------------


class WorldSource(Protocol):
    """Read access to the ``world`` table (``bench.pgdata.PgWorld``, or a fake in tests)."""

    def fetch(self, ids: Iterable[int]) -> dict[int, int]: ...

    def snapshot(self) -> dict[int, int]: ...


WORLD_IDS = range(1, 10_001)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def world_problems(item: Any, where: str = "") -> list[str]:
    """A world object is exactly ``{"id": 1..10000, "randomNumber": 1..10000}``."""
    if not isinstance(item, dict):
        return [f"{where}expected a JSON object, got {item!r:.80}"]
    if set(item) != {"id", "randomNumber"}:
        return [f"{where}keys {sorted(item)}, expected ['id', 'randomNumber']"]
    problems = []
    for key in ("id", "randomNumber"):
        value = item[key]
        if not _is_int(value):
            problems.append(f"{where}{key} is {value!r}, not an integer")
        elif value not in WORLD_IDS:
            problems.append(f"{where}{key} {value} outside 1..10000")
    return problems


def _check_against_table(items: list[dict[str, int]], world: WorldSource) -> list[str]:
    """Each returned row must hold the value the table has: it was really read."""
    stored = world.fetch(item["id"] for item in items)
    problems = []
    for item in items:
        actual = stored.get(item["id"])
        if actual != item["randomNumber"]:
            problems.append(
                f"world {item['id']}: response says randomNumber {item['randomNumber']}, "
                f"the table has {actual}"
            )
    return problems[:5]


@dataclass(frozen=True)
class ExpectWorld:
    """Single query: one world object, matching the table when ``world`` is given."""

    world: WorldSource | None = field(default=None, compare=False)

    def __call__(self, response: httpx.Response) -> list[str]:
        problems = _check_status(response, 200)
        if problems:
            return problems
        problems += check_content_type(response, "application/json", "utf-8")
        decoded = _decode_json(response, problems)
        if decoded is None:
            return problems
        if isinstance(decoded, list):
            return [*problems, "body is a JSON array; single query must return one object"]
        item_problems = world_problems(decoded)
        problems += item_problems
        if not item_problems and self.world is not None:
            problems += _check_against_table([decoded], self.world)
        return problems


@dataclass(frozen=True)
class ExpectWorlds:
    """Multiple queries / updates: an array of exactly ``count`` world objects."""

    count: int
    world: WorldSource | None = field(default=None, compare=False)

    def __call__(self, response: httpx.Response) -> list[str]:
        problems = _check_status(response, 200)
        if problems:
            return problems
        problems += check_content_type(response, "application/json", "utf-8")
        decoded = _decode_json(response, problems)
        if decoded is None:
            return problems
        if not isinstance(decoded, list):
            return [*problems, f"body is {type(decoded).__name__}, expected a JSON array"]
        if len(decoded) != self.count:
            problems.append(f"{len(decoded)} objects, expected {self.count}")
        item_problems = [
            p for i, item in enumerate(decoded) for p in world_problems(item, f"[{i}] ")
        ]
        problems += item_problems[:5]
        if not item_problems and self.world is not None:
            problems += _check_against_table(decoded, self.world)
        return problems


class _TableParser(HTMLParser):
    """Collects ``<title>`` and the text of each table row's cells, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            if self.rows:
                self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_title:
            self.title += data


@dataclass(frozen=True)
class ExpectFortunes:
    """Fortunes: UTF-8 HTML, every row plus the added one, sorted by message, escaped.

    The page is compared by content, not bytes: whitespace and the choice of entity
    (``&#34;`` or ``&quot;``) may differ, as TechEmpower allows, but a message that
    reaches the page unescaped, is double-escaped, is missing or is out of order fails.
    """

    expected: tuple[tuple[int, str], ...]

    def __call__(self, response: httpx.Response) -> list[str]:
        problems = _check_status(response, 200)
        if problems:
            return problems
        value = response.headers.get("Content-Type")
        problems += check_content_type(response, "text/html", "utf-8")
        if value is not None and "charset" not in parse_content_type(value)[1]:
            problems.append(f"content-type {value!r} must declare charset=utf-8")
        try:
            text = response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [*problems, f"body is not UTF-8: {exc}"]
        if "<script" in text.lower():
            problems.append("a <script> tag reached the page: messages are not HTML-escaped")
        parser = _TableParser()
        parser.feed(text)
        parser.close()
        if parser.title.strip() != "Fortunes":
            problems.append(f"title {parser.title.strip()!r}, expected 'Fortunes'")
        rows = parser.rows
        if not rows or rows[0] != ["id", "message"]:
            problems.append(f"header row {rows[0] if rows else None!r}, expected ['id', 'message']")
            return problems
        got = [tuple(row) for row in rows[1:]]
        want = [(str(i), message) for i, message in self.expected]
        if got != want:
            if sorted(got) == sorted(want):
                problems.append("rows are not sorted by message")
            else:
                missing = [w for w in want if w not in got]
                extra = [g for g in got if g not in want]
                problems.append(
                    f"{len(got)} rows, expected {len(want)}; "
                    f"missing {missing[:2]!r}, unexpected {extra[:2]!r}"
                )
        return problems


def count_primes_below(limit: int) -> int:
    """pi(limit - 1) by a sieve: the answer every ``/cpu`` endpoint must give."""
    if limit < 3:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for n in range(2, int(limit**0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, limit, n)))
    return sum(sieve)


@dataclass(frozen=True)
class ExpectCpu:
    """``/cpu``: ``{"limit": L, "primes": pi(L)}`` with ``L >= min_limit`` (work was done)."""

    min_limit: int = 1000

    def __call__(self, response: httpx.Response) -> list[str]:
        problems = _check_status(response, 200)
        if problems:
            return problems
        problems += check_content_type(response, "application/json", "utf-8")
        decoded = _decode_json(response, problems)
        if decoded is None:
            return problems
        if not isinstance(decoded, dict) or set(decoded) != {"limit", "primes"}:
            return [*problems, f"body {decoded!r:.80}, expected {{'limit': L, 'primes': N}}"]
        limit, primes = decoded["limit"], decoded["primes"]
        if not (_is_int(limit) and _is_int(primes)):
            return [*problems, f"non-integer limit/primes in {decoded!r}"]
        if limit < self.min_limit:
            problems.append(f"limit {limit} is below {self.min_limit}: too little work")
        elif limit <= 10_000_000 and primes != count_primes_below(limit):
            problems.append(f"primes {primes} is wrong for limit {limit}")
        return problems


def check_response(response: httpx.Response, validator: Validator) -> list[str]:
    """All problems with one response: the workload's own rules plus common headers."""
    return validator(response) + check_common_headers(response)


Fetch = Callable[[str], httpx.Response]
"""GET a path (with the workload's headers) from the server under test."""


class Probe(Protocol):
    """One verification step beyond the timed path, e.g. an edge case or a persistence check."""

    path: str

    def run(self, fetch: Fetch) -> list[str]: ...


@dataclass(frozen=True)
class Get:
    """GET ``path`` and apply ``validator`` (plus the common header rules)."""

    path: str
    validator: Validator

    def run(self, fetch: Fetch) -> list[str]:
        return check_response(fetch(self.path), self.validator)


@dataclass(frozen=True)
class UpdatesPersist:
    """Updates: the rows the response reports are the rows the table now holds.

    The whole table is read before and after one request: every returned row must
    hold (one of) the value(s) the response gave it, at least half of the returned
    rows must have changed (a new random number equals the old one 1 time in 10,000),
    and no other row may have changed.
    """

    path: str
    count: int
    world: WorldSource = field(compare=False)

    def run(self, fetch: Fetch) -> list[str]:
        before = self.world.snapshot()
        response = fetch(self.path)
        problems = check_response(response, ExpectWorlds(self.count))
        if problems:
            return problems
        after = self.world.snapshot()
        reported: dict[int, set[int]] = {}
        for item in msgspec.json.decode(response.content):
            reported.setdefault(item["id"], set()).add(item["randomNumber"])
        changed = {i for i, value in after.items() if before.get(i) != value}
        if len(changed) * 2 < len(reported):
            problems.append(f"only {len(changed)} of {len(reported)} returned rows changed")
        stray = sorted(changed - reported.keys())
        if stray:
            problems.append(f"rows the response does not list changed: {stray[:5]}")
        mismatches = [
            f"world {world_id}: response says randomNumber {sorted(values)}, the table has "
            f"{after.get(world_id)} (update not persisted)"
            for world_id, values in reported.items()
            if after.get(world_id) not in values
        ]
        return problems + mismatches[:3]


def verify_workload(
    base_url: str,
    workload: Workload,
    *,
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> list[str]:
    """Check the timed path and every extra probe of ``workload``; empty: valid."""
    own_client = client is None
    if client is None:
        # trust_env=False: a proxy from the environment must never sit in between.
        client = httpx.Client(timeout=timeout, trust_env=False)
    headers = dict(workload.headers)

    def fetch(path: str) -> httpx.Response:
        return client.get(base_url.rstrip("/") + path, headers=headers)

    probes: list[Probe] = [Get(workload.path, workload.validator), *workload.probes]
    problems: list[str] = []
    try:
        for probe in probes:
            try:
                found = probe.run(fetch)
            except httpx.HTTPError as exc:
                found = [f"request failed: {type(exc).__name__}: {exc}"]
            problems += [f"{probe.path}: {p}" for p in found]
    finally:
        if own_client:
            client.close()
    return problems


def check_wrk_result(result: WrkResult) -> list[str]:
    """Problems visible only under load: error statuses wrk counted, or no traffic."""
    problems: list[str] = []
    if result.non_2xx:
        # wrk's label says "Non-2xx or 3xx"; it counts statuses >= 400.
        problems.append(f"wrk counted {result.non_2xx} non-2xx/3xx responses")
    if result.requests == 0:
        problems.append("wrk completed no requests")
    return problems
