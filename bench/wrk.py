"""Run wrk and parse its text report (``--latency`` form) into numbers.

We parse wrk's human output rather than use a Lua ``done`` hook so any stock
wrk build works and a captured report doubles as a test fixture.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = r"([0-9.]+)(us|ms|s|m|h)"

_RE_REQS_PER_SEC = re.compile(r"^Requests/sec:\s+([0-9.]+)\s*$", re.M)
_RE_TOTAL = re.compile(r"^\s*(\d+) requests in " + _TIME + r", ", re.M)
_RE_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+" + _TIME + r"\s*$", re.M)
_RE_LATENCY_ROW = re.compile(r"^\s*Latency\s+" + _TIME + r"\s+\S+\s+" + _TIME, re.M)
_RE_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$", re.M)
_RE_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$", re.M
)


class WrkError(RuntimeError):
    """wrk failed to run or printed something we could not parse."""


@dataclass
class WrkResult:
    """One wrk run. Latencies are in milliseconds."""

    requests_per_sec: float
    requests: int
    duration_s: float
    latency_avg_ms: float | None = None
    latency_max_ms: float | None = None
    percentiles_ms: dict[str, float] = field(default_factory=dict)  # "50", "75", "90", "99"
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def timeouts(self) -> int:
        """Requests wrk gave up on: they are missing from the latency figures."""
        return self.socket_errors.get("timeout", 0)

    @property
    def p50_ms(self) -> float | None:
        return self.percentiles_ms.get("50")

    @property
    def p99_ms(self) -> float | None:
        return self.percentiles_ms.get("99")


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def parse_wrk_output(text: str) -> WrkResult:
    """Parse wrk's stdout. Raises :class:`WrkError` if the key lines are missing."""
    rps = _RE_REQS_PER_SEC.search(text)
    total = _RE_TOTAL.search(text)
    if rps is None or total is None:
        raise WrkError(f"unrecognised wrk output:\n{text}")
    result = WrkResult(
        requests_per_sec=float(rps.group(1)),
        requests=int(total.group(1)),
        duration_s=_to_ms(total.group(2), total.group(3)) / 1000.0,
    )
    latency = _RE_LATENCY_ROW.search(text)
    if latency is not None:
        result.latency_avg_ms = _to_ms(latency.group(1), latency.group(2))
        result.latency_max_ms = _to_ms(latency.group(3), latency.group(4))
    for match in _RE_PERCENTILE.finditer(text):
        result.percentiles_ms[match.group(1)] = _to_ms(match.group(2), match.group(3))
    non_2xx = _RE_NON_2XX.search(text)
    if non_2xx is not None:
        result.non_2xx = int(non_2xx.group(1))
    errors = _RE_SOCKET_ERRORS.search(text)
    if errors is not None:
        result.socket_errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
    return result


def wrk_command(
    url: str,
    *,
    connections: int,
    duration_s: float,
    threads: int = 1,
    headers: Sequence[tuple[str, str]] = (),
    extra_args: Sequence[str] = (),
    cpu: int | None = None,
    timeout_s: int = 8,
) -> list[str]:
    """Build the wrk argv, pinned to ``cpu`` with taskset when given.

    ``timeout_s`` is TechEmpower's 8 s rather than wrk's 2 s, so a slow peer (one sync
    Django worker behind 64 connections) gets latencies, not just timeouts.
    """
    cmd = [] if cpu is None else ["taskset", "-c", str(cpu)]
    cmd += ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s"]
    cmd += ["--timeout", f"{timeout_s}s", "--latency"]
    for name, value in headers:
        cmd += ["-H", f"{name}: {value}"]
    cmd += [*extra_args, url]
    return cmd


def run_wrk(cmd: Sequence[str], *, duration_s: float) -> tuple[WrkResult, str]:
    """Run a wrk command; return the parsed result and the raw report."""
    try:
        proc = subprocess.run(
            list(cmd), capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WrkError(f"wrk did not run: {exc}") from exc
    if proc.returncode != 0:
        raise WrkError(f"wrk exited {proc.returncode}: {proc.stderr.strip() or proc.stdout}")
    return parse_wrk_output(proc.stdout), proc.stdout
