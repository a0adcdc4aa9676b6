"""Registry of workloads: name -> endpoint path, request headers, validator.

Every peer serves each workload at the same path. The same headers are sent by
the verifier and by wrk, so what is verified is what is timed. DB workloads
(single query, fortunes, updates...) will add entries here with their own
validators in ``bench/verify.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.verify import ExpectJson, ExpectText, Validator

# TechEmpower's load generator sends browser-like Accept headers; we do the same.
_ACCEPT_PLAINTEXT = (
    "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7"
)
_ACCEPT_JSON = (
    "application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7"
)


@dataclass(frozen=True)
class Workload:
    """One endpoint to time. ``wrk_args`` are extra wrk options (e.g. ``-s script``)."""

    name: str
    path: str
    validator: Validator
    headers: tuple[tuple[str, str], ...] = ()
    wrk_args: tuple[str, ...] = ()
    description: str = ""


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="plaintext",
            path="/plaintext",
            validator=ExpectText(body=b"Hello, World!", media_type="text/plain"),
            headers=(("Accept", _ACCEPT_PLAINTEXT), ("Connection", "keep-alive")),
            description="TechEmpower plaintext (no pipelining yet)",
        ),
        Workload(
            name="json",
            path="/json",
            validator=ExpectJson(value={"message": "Hello, World!"}),
            headers=(("Accept", _ACCEPT_JSON), ("Connection", "keep-alive")),
            description="TechEmpower JSON serialization",
        ),
    )
}
