"""The verifier against each kind of wrong answer on the database and stall workloads.

A fake ``world`` table stands in for PostgreSQL, so these tests need no server: each
deliberately wrong response (wrong shape, values not read from the table, fortunes
unescaped, double-escaped, unsorted or missing the added row, updates not persisted)
must be rejected, and the right ones accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

import httpx
import msgspec
import pytest

from bench.pgdata import expected_fortunes
from bench.verify import (
    ExpectCpu,
    ExpectFortunes,
    ExpectWorld,
    ExpectWorlds,
    Get,
    UpdatesPersist,
    check_response,
    count_primes_below,
    verify_workload,
)
from bench.workloads import WORKLOADS, Workload

DATE = "Wed, 25 Nov 2026 00:37:33 GMT"
FORTUNES = tuple(expected_fortunes())


class FakeWorld:
    """An in-memory ``world`` table: ids 1..10000, randomNumber = id % 97 + 1."""

    def __init__(self) -> None:
        self.rows = {i: i % 97 + 1 for i in range(1, 10_001)}

    def fetch(self, ids: Iterable[int]) -> dict[int, int]:
        return {i: self.rows[i] for i in ids if i in self.rows}

    def snapshot(self) -> dict[int, int]:
        return dict(self.rows)


def response(
    body: bytes, content_type: str = "application/json", status: int = 200
) -> httpx.Response:
    headers = {"Content-Type": content_type, "Server": "test", "Date": DATE}
    return httpx.Response(status, headers=headers, content=body)


def json_response(value: object, **kwargs: object) -> httpx.Response:
    return response(msgspec.json.encode(value), **kwargs)  # type: ignore[arg-type]


def rows(world: FakeWorld, ids: Iterable[int]) -> list[dict[str, int]]:
    return [{"id": i, "randomNumber": world.rows[i]} for i in ids]


def fortunes_page(
    items: Iterable[tuple[int, str]] = FORTUNES,
    *,
    escape_fn: Callable[[str], str] = escape,
    title: str = "Fortunes",
) -> bytes:
    body = "".join(f"<tr><td>{i}</td><td>{escape_fn(m)}</td></tr>\n" for i, m in items)
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><table>\n"
        f"<tr><th>id</th><th>message</th></tr>\n{body}</table></body></html>"
    ).encode()


HTML = "text/html; charset=utf-8"


# --- single query --------------------------------------------------------------


def test_single_query_accepts_a_row_read_from_the_table() -> None:
    world = FakeWorld()
    assert check_response(json_response(rows(world, [42])[0]), ExpectWorld(world)) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": 42, "randomNumber": 1}, "the table has 43"),  # made up, not read
        ([{"id": 42, "randomNumber": 43}], "JSON array"),  # array for a single query
        ({"id": 42}, "keys"),  # field missing
        ({"id": 42, "randomnumber": 43}, "keys"),  # wrong case
        ({"id": 42, "randomNumber": 43, "extra": 1}, "keys"),
        ({"id": "42", "randomNumber": 43}, "not an integer"),  # numbers as strings
        ({"id": 0, "randomNumber": 43}, "outside 1..10000"),
        ({"id": 10_001, "randomNumber": 43}, "outside 1..10000"),
        ({"id": True, "randomNumber": 43}, "not an integer"),
    ],
)
def test_single_query_rejects(body: object, expected: str) -> None:
    problems = check_response(json_response(body), ExpectWorld(FakeWorld()))
    assert any(expected in p for p in problems), problems


def test_single_query_rejects_wrong_content_type_and_status() -> None:
    world = FakeWorld()
    body = msgspec.json.encode(rows(world, [7])[0])
    assert check_response(response(body, "text/plain"), ExpectWorld(world))
    assert check_response(response(body, status=500), ExpectWorld(world))


# --- multiple queries ----------------------------------------------------------


def test_queries_accepts_rows_read_from_the_table() -> None:
    world = FakeWorld()
    ok = json_response(rows(world, range(1, 21)))
    assert check_response(ok, ExpectWorlds(20, world)) == []


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda w: rows(w, range(1, 20)), "19 objects, expected 20"),  # one short
        (lambda w: rows(w, range(1, 22)), "21 objects"),  # one too many
        (lambda w: rows(w, [1])[0], "expected a JSON array"),  # an object, not an array
        (lambda w: [*rows(w, range(1, 20)), {"id": 20, "randomNumber": 999}], "the table"),
        (lambda w: [*rows(w, range(1, 20)), {"id": 20}], "keys"),
    ],
)
def test_queries_rejects(make: Callable[[FakeWorld], object], expected: str) -> None:
    world = FakeWorld()
    problems = check_response(json_response(make(world)), ExpectWorlds(20, world))
    assert any(expected in p for p in problems), problems


def test_queries_probes_tech_empower_edge_cases() -> None:
    # ?queries=0, =foo and = mean 1 row, =501 means 500: a peer returning 0 rows is wrong.
    world = FakeWorld()
    workload = WORKLOADS["queries"]
    wanted = {p.path: p for p in workload.probes}
    assert set(wanted) >= {
        "/queries?queries=0",
        "/queries?queries=foo",
        "/queries?queries=",
        "/queries?queries=501",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        raw = request.url.params.get("queries", "")
        n = int(raw) if raw.isdigit() else 1
        return json_response(rows(world, range(1, max(n, 0) + 1)))  # no clamping: wrong

    lenient = Workload(
        name="queries",
        path="/queries?queries=20",
        validator=ExpectWorlds(20, world),
        probes=tuple(Get(p.path, ExpectWorlds(p.validator.count, world)) for p in workload.probes),  # type: ignore[attr-defined]
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        problems = verify_workload("http://peer", lenient, client=client)
    assert any(p.startswith("/queries?queries=0:") for p in problems), problems
    assert any(p.startswith("/queries?queries=501:") for p in problems), problems
    assert not any(p.startswith("/queries?queries=foo:") for p in problems), problems


# --- fortunes --------------------------------------------------------------------


def test_fortunes_accepts_a_correct_page() -> None:
    assert check_response(response(fortunes_page(), HTML), ExpectFortunes(FORTUNES)) == []


def test_fortunes_accepts_other_entity_choices() -> None:
    # &#34; instead of &quot;, &#x27; for the apostrophe: TechEmpower accepts either.
    def other(text: str) -> str:
        return (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&#34;")
            .replace("'", "&#x27;")
        )

    page = fortunes_page(escape_fn=other)
    assert check_response(response(page, HTML), ExpectFortunes(FORTUNES)) == []


@pytest.mark.parametrize(
    ("page", "content_type", "expected"),
    [
        (fortunes_page(escape_fn=lambda m: m), HTML, "not HTML-escaped"),  # XSS
        (fortunes_page(escape_fn=lambda m: escape(escape(m))), HTML, "missing"),  # double
        (fortunes_page(sorted(FORTUNES)), HTML, "not sorted"),  # ordered by id
        (fortunes_page(reversed(FORTUNES)), HTML, "not sorted"),
        (fortunes_page([f for f in FORTUNES if f[0] != 0]), HTML, "missing"),  # no added row
        (fortunes_page([*FORTUNES, (13, "extra")]), HTML, "unexpected"),
        (fortunes_page([(i + 1, m) for i, m in FORTUNES]), HTML, "missing"),  # wrong ids
        (fortunes_page(title="Fortune"), HTML, "title"),
        (fortunes_page(), "text/html", "charset"),  # charset must be declared
        (fortunes_page(), "text/plain; charset=utf-8", "content-type"),
        (fortunes_page(), "text/html; charset=iso-8859-1", "charset"),
        (fortunes_page().replace(b"<th>id</th>", b"<th>ID</th>"), HTML, "header row"),
    ],
)
def test_fortunes_rejects(page: bytes, content_type: str, expected: str) -> None:
    problems = check_response(response(page, content_type), ExpectFortunes(FORTUNES))
    assert any(expected in p for p in problems), problems


def test_fortunes_rejects_a_page_that_is_not_utf8() -> None:
    page = fortunes_page().decode().encode("utf-16")
    problems = check_response(response(page, HTML), ExpectFortunes(FORTUNES))
    assert any("not UTF-8" in p for p in problems), problems


# --- updates ---------------------------------------------------------------------


def updates_handler(world: FakeWorld, *, persist: bool = True, lie: bool = False) -> Callable:
    """A /updates endpoint over ``world``: reads rows, sets new numbers, maybe writes them."""
    counter = iter(range(10**9))

    def handler(request: httpx.Request) -> httpx.Response:
        raw = request.url.params.get("queries", "")
        n = min(max(int(raw), 1), 500) if raw.lstrip("-").isdigit() else 1
        out = []
        for i in range(1, n + 1):
            new = (world.rows[i] + 1 + next(counter) % 50) % 10_000 + 1
            if persist:
                world.rows[i] = new
            out.append({"id": i, "randomNumber": world.rows[i] if lie else new})
        return json_response(out)

    return handler


def run_updates(handler: Callable, world: FakeWorld) -> list[str]:
    probe = UpdatesPersist("/updates?queries=20", 20, world)
    workload = Workload("updates", "/updates?queries=20", ExpectWorlds(20), probes=(probe,))
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return verify_workload("http://peer", workload, client=client)


def test_updates_accepts_persisted_rows() -> None:
    world = FakeWorld()
    assert run_updates(updates_handler(world), world) == []


def test_updates_rejects_rows_not_written() -> None:
    world = FakeWorld()
    problems = run_updates(updates_handler(world, persist=False), world)
    assert any("update not persisted" in p for p in problems), problems
    assert any("returned rows changed" in p for p in problems), problems


def test_updates_rejects_a_response_that_reports_old_values() -> None:
    # Written to the table, but the response shows the numbers read before the update.
    world = FakeWorld()

    def handler(request: httpx.Request) -> httpx.Response:
        before = rows(world, range(1, 21))
        for i in range(1, 21):
            world.rows[i] = world.rows[i] % 9_000 + 500
        return json_response(before)

    problems = run_updates(handler, world)
    assert any("update not persisted" in p for p in problems), problems


def test_updates_rejects_writes_to_rows_it_does_not_report() -> None:
    world = FakeWorld()
    inner = updates_handler(world)

    def handler(request: httpx.Request) -> httpx.Response:
        world.rows[9_999] += 1  # a stray write
        return inner(request)

    problems = run_updates(handler, world)
    assert any("does not list changed: [9999]" in p for p in problems), problems


def test_updates_accepts_a_repeated_id_with_either_value() -> None:
    world = FakeWorld()

    def handler(request: httpx.Request) -> httpx.Response:
        world.rows[5] = 1_234
        world.rows.update({i: world.rows[i] + 1 for i in range(6, 24)})
        out = [{"id": 5, "randomNumber": 999}, {"id": 5, "randomNumber": 1_234}]
        out += [{"id": i, "randomNumber": world.rows[i]} for i in range(6, 24)]
        return json_response(out)

    assert run_updates(handler, world) == []


# --- /cpu ------------------------------------------------------------------------


def test_count_primes_below() -> None:
    assert [count_primes_below(n) for n in (0, 2, 3, 10, 100, 10_000)] == [0, 0, 1, 4, 25, 1229]


def test_cpu_accepts_the_right_count() -> None:
    body = {"limit": 10_000, "primes": 1229}
    assert check_response(json_response(body), ExpectCpu()) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"limit": 10_000, "primes": 1228}, "wrong"),  # work skipped or botched
        ({"limit": 100, "primes": 25}, "too little work"),
        ({"primes": 1229}, "expected"),
        ({"limit": "10000", "primes": 1229}, "non-integer"),
    ],
)
def test_cpu_rejects(body: object, expected: str) -> None:
    problems = check_response(json_response(body), ExpectCpu())
    assert any(expected in p for p in problems), problems


def test_stall_workload_verifies_both_endpoints() -> None:
    stall = WORKLOADS["stall"]
    assert stall.path == "/json"
    assert stall.metric == "p99"
    assert stall.background is not None
    assert stall.background.path == "/cpu"
    assert [p.path for p in stall.probes] == ["/cpu"]
