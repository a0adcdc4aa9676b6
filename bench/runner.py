"""Orchestrates a benchmark run: for each (peer, workload) start, verify, warm, time.

Each (peer, workload) pair gets a fresh server process so peak memory belongs
to one workload and one workload's warm state can't help the next. The server
is pinned to one CPU and wrk (plus this process) to another, so the load
generator never competes with the server it measures.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from bench import report
from bench.peers import PEERS, Peer
from bench.servers import REPO_ROOT, ServerError, ServerProcess
from bench.sysinfo import machine_info
from bench.verify import check_wrk_result, verify_workload
from bench.workloads import WORKLOADS, Workload
from bench.wrk import WrkError, WrkResult, run_wrk, wrk_command

RESULTS_ROOT = Path(__file__).resolve().parent / "results"


class Preset(NamedTuple):
    duration_s: float
    warmup_s: float
    repetitions: int


# Quick: 6 (peer, workload) pairs take ~75 s. Full: median of 3 for stabler numbers.
QUICK = Preset(duration_s=8.0, warmup_s=3.0, repetitions=1)
FULL = Preset(duration_s=15.0, warmup_s=5.0, repetitions=3)
SELECTION = "median repetition by req/s (its p50/p99 are reported with it)"


@dataclass
class RunSettings:
    peers: list[str]
    workloads: list[str]
    mode: str  # "quick" or "full"
    duration_s: float
    warmup_s: float
    repetitions: int
    connections: int
    threads: int = 1
    server: str | None = None  # overrides each ASGI peer's default server
    server_cpu: int | None = None
    load_cpu: int | None = None
    selection: str = SELECTION


@dataclass
class Measurement:
    """Outcome for one (peer, workload). ``status`` is "ok", "invalid" or "error"."""

    peer: str
    workload: str
    server: str
    status: str = "ok"
    reason: str = ""
    startup_s: float | None = None
    warmup: WrkResult | None = None
    repetitions: list[WrkResult] = field(default_factory=list)
    selected: int | None = None  # index into repetitions
    peak_rss_kib: int | None = None
    peak_tree_rss_kib: int | None = None
    server_command: list[str] = field(default_factory=list)
    wrk_command: list[str] = field(default_factory=list)

    @property
    def result(self) -> WrkResult | None:
        """The repetition reported in the table, if the measurement is valid."""
        if self.status != "ok" or self.selected is None:
            return None
        return self.repetitions[self.selected]


def choose_cpus() -> tuple[int | None, int | None]:
    """(server CPU, load CPU), or no pinning when there is only one CPU or no taskset."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and shutil.which("taskset"):
        return cpus[0], cpus[1]
    return None, None


def select_median(results: list[WrkResult]) -> int:
    """Index of the median run by req/s (lower median for an even count)."""
    order = sorted(range(len(results)), key=lambda i: results[i].requests_per_sec)
    return order[(len(order) - 1) // 2]


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def measure(peer: Peer, workload: Workload, settings: RunSettings) -> Measurement:
    """Start ``peer``, verify ``workload``, warm up, time it; never raises for peer faults."""
    server = settings.server if settings.server and peer.asgi else peer.server
    m = Measurement(peer=peer.name, workload=workload.name, server=server)
    try:
        srv = ServerProcess(peer.app, server, cpu=settings.server_cpu)
    except ServerError as exc:
        m.status, m.reason = "error", str(exc)
        return m
    m.server_command = srv.command
    try:
        with srv:
            m.startup_s = None if srv.startup_s is None else round(srv.startup_s, 3)
            problems = verify_workload(srv.base_url, workload)
            if problems:
                m.status, m.reason = "invalid", "; ".join(problems)
                return m

            url = srv.base_url + workload.path

            def wrk(duration_s: float) -> WrkResult:
                cmd = wrk_command(
                    url,
                    connections=settings.connections,
                    duration_s=duration_s,
                    threads=settings.threads,
                    headers=workload.headers,
                    extra_args=workload.wrk_args,
                    cpu=settings.load_cpu,
                )
                m.wrk_command = cmd
                result, _ = run_wrk(cmd, duration_s=duration_s)
                if not srv.alive():
                    raise ServerError("server died under load:\n" + srv.log_tail())
                return result

            if settings.warmup_s > 0:
                m.warmup = wrk(settings.warmup_s)
                problems = check_wrk_result(m.warmup)
                if problems:
                    m.status, m.reason = "invalid", "during warm-up: " + "; ".join(problems)
                    return m
            for i in range(settings.repetitions):
                result = wrk(settings.duration_s)
                m.repetitions.append(result)
                problems = check_wrk_result(result)
                if problems:
                    m.status, m.reason = "invalid", f"repetition {i + 1}: " + "; ".join(problems)
                    return m
            m.selected = select_median(m.repetitions)
    except (ServerError, WrkError) as exc:
        m.status, m.reason = "error", str(exc)
    finally:
        if srv.memory is not None:
            m.peak_rss_kib = srv.memory.peak_rss_kib
            m.peak_tree_rss_kib = srv.memory.peak_tree_rss_kib
    return m


def run(settings: RunSettings, *, output_dir: Path | None, command: str) -> dict[str, Any]:
    """Run every (peer, workload), write results.json/results.md, return the report."""
    started = time.perf_counter()
    started_at = datetime.now().astimezone()
    if settings.server_cpu is None and settings.load_cpu is None:
        settings.server_cpu, settings.load_cpu = choose_cpus()
    if settings.load_cpu is None:
        _log("warning: fewer than 2 CPUs or no taskset; server and wrk share CPUs")

    original_affinity = os.sched_getaffinity(0)
    if settings.load_cpu is not None:
        # Keep the harness itself (verification, memory sampling) off the server's CPU.
        os.sched_setaffinity(0, {settings.load_cpu})
    measurements: list[Measurement] = []
    try:
        for peer_name in settings.peers:
            for workload_name in settings.workloads:
                peer, workload = PEERS[peer_name], WORKLOADS[workload_name]
                _log(f"{peer.name} / {workload.name} ...")
                m = measure(peer, workload, settings)
                measurements.append(m)
                if m.result is not None:
                    _log(
                        f"{peer.name} / {workload.name}: {m.result.requests_per_sec:,.0f} req/s, "
                        f"p50 {m.result.p50_ms} ms, p99 {m.result.p99_ms} ms"
                    )
                else:
                    _log(f"{peer.name} / {workload.name}: {m.status.upper()}: {m.reason}")
    finally:
        os.sched_setaffinity(0, original_affinity)

    data: dict[str, Any] = {
        "date": started_at.strftime("%Y-%m-%d"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "command": command,
        "machine": machine_info(REPO_ROOT),
        "settings": settings,
        "results": measurements,
    }
    out = output_dir if output_dir is not None else RESULTS_ROOT / data["date"]
    report.write(data, out)
    _log(f"wrote {out / 'results.json'} and {out / 'results.md'} in {data['elapsed_s']} s")
    return data
