"""Registry of workloads: name -> endpoint path, request headers, validator, probes.

Every peer serves each workload at the same path. The same headers are sent by
the verifier and by wrk, so what is verified is what is timed. The test types
follow TechEmpower's requirements (plaintext, json, db, queries, fortunes,
updates); ``stall`` is Tidal's own: the p99 of ``/json`` while a second load keeps
``/cpu`` (about 20 ms of CPU per request) busy. The WebSocket workloads (``ws_fanout``:
broadcast fan-out; ``ws_idle``: memory per idle connection) are timed by their own load
client instead of wrk (``driver="ws"``, see ``bench/runner.py:DRIVERS`` and
``bench/ws_driver.py``); ``path`` is then the endpoint their publisher posts to.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bench.pgdata import PgWorld, expected_fortunes
from bench.verify import (
    ExpectCpu,
    ExpectFortunes,
    ExpectJson,
    ExpectText,
    ExpectWorld,
    ExpectWorlds,
    Get,
    Probe,
    UpdatesPersist,
    Validator,
)

# TechEmpower's load generator sends browser-like Accept headers; we do the same.
_ACCEPT_PLAINTEXT = (
    "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7"
)
_ACCEPT_JSON = (
    "application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7"
)
_ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_JSON_HEADERS = (("Accept", _ACCEPT_JSON), ("Connection", "keep-alive"))

# The verifier reads the table to check what peers report (lazily connected).
WORLD = PgWorld()

QUERIES = 20  # rows per request in the timed queries/updates runs, as in the issue


@dataclass(frozen=True)
class Background:
    """A second wrk run against ``path`` for the whole timed run (the stall workload)."""

    path: str
    connections: int = 8


@dataclass(frozen=True)
class Workload:
    """One endpoint to time. ``wrk_args`` are extra wrk options (e.g. ``-s script``).

    ``probes`` are verified along with ``path``; ``needs_db`` makes the runner set up
    PostgreSQL first; ``metric`` says what the table compares: ``"rps"`` (req/s) and
    ``"msgs"`` (messages delivered/s), higher is better; ``"p99"`` (ms) and ``"kib"``
    (server memory per connection), lower is better.
    """

    name: str
    path: str
    validator: Validator
    headers: tuple[tuple[str, str], ...] = ()
    wrk_args: tuple[str, ...] = ()
    description: str = ""
    probes: tuple[Probe, ...] = ()
    needs_db: bool = False
    background: Background | None = None
    metric: str = "rps"
    driver: str = "wrk"
    ws: str | None = None  # "fanout" or "idle": what the WebSocket client does


def _publish_accepted(response: httpx.Response) -> list[str]:
    """The WebSocket workloads' publisher only needs a 200; deliveries are what is checked
    (``bench/ws_verify.py``)."""
    return [] if response.status_code == 200 else [f"status {response.status_code}"]


def _count_edge_cases(base: str) -> tuple[Probe, ...]:
    """TechEmpower's rules for ``queries``: not a number or < 1 means 1, > 500 means 500."""
    cases = (("2", 2), ("0", 1), ("foo", 1), ("501", 500), ("", 1))
    if base == "/updates":
        return tuple(UpdatesPersist(f"{base}?queries={raw}", n, WORLD) for raw, n in cases)
    return tuple(Get(f"{base}?queries={raw}", ExpectWorlds(n, WORLD)) for raw, n in cases)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="plaintext",
            path="/plaintext",
            validator=ExpectText(body=b"Hello, World!", media_type="text/plain"),
            headers=(("Accept", _ACCEPT_PLAINTEXT), ("Connection", "keep-alive")),
            description="TechEmpower plaintext (no pipelining)",
        ),
        Workload(
            name="json",
            path="/json",
            validator=ExpectJson(value={"message": "Hello, World!"}),
            headers=_JSON_HEADERS,
            description="TechEmpower JSON serialization",
        ),
        Workload(
            name="db",
            path="/db",
            validator=ExpectWorld(WORLD),
            headers=_JSON_HEADERS,
            description="TechEmpower single query (one random world row)",
            needs_db=True,
        ),
        Workload(
            name="queries",
            path=f"/queries?queries={QUERIES}",
            validator=ExpectWorlds(QUERIES, WORLD),
            headers=_JSON_HEADERS,
            description=f"TechEmpower multiple queries ({QUERIES} rows, one query each)",
            probes=_count_edge_cases("/queries"),
            needs_db=True,
        ),
        Workload(
            name="fortunes",
            path="/fortunes",
            validator=ExpectFortunes(tuple(expected_fortunes())),
            headers=(("Accept", _ACCEPT_HTML), ("Connection", "keep-alive")),
            description="TechEmpower fortunes (rows + 1 added, sorted, HTML-escaped template)",
            needs_db=True,
        ),
        Workload(
            name="updates",
            path=f"/updates?queries={QUERIES}",
            validator=ExpectWorlds(QUERIES),
            headers=_JSON_HEADERS,
            description=f"TechEmpower updates ({QUERIES} rows read one by one, then written)",
            probes=(
                UpdatesPersist(f"/updates?queries={QUERIES}", QUERIES, WORLD),
                *_count_edge_cases("/updates"),
            ),
            needs_db=True,
        ),
        Workload(
            name="stall",
            path="/json",
            validator=ExpectJson(value={"message": "Hello, World!"}),
            headers=_JSON_HEADERS,
            description="p99 of /json while a second wrk keeps /cpu (~20 ms CPU each) busy",
            probes=(Get("/cpu", ExpectCpu()),),
            background=Background("/cpu", connections=8),
            metric="p99",
        ),
        Workload(
            name="ws_fanout",
            path="/publish",
            validator=_publish_accepted,
            description="WebSocket broadcast to N subscribers of one topic, one event at a time",
            metric="msgs",
            driver="ws",
            ws="fanout",
        ),
        Workload(
            name="ws_idle",
            path="/publish",
            validator=_publish_accepted,
            description="server memory per idle WebSocket subscriber (K connections)",
            metric="kib",
            driver="ws",
            ws="idle",
        ),
    )
}
