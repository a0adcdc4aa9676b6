"""Orchestrates a benchmark run: for each (peer, workload) start, verify, warm, time.

Each (peer, workload) pair gets a fresh server process so peak memory belongs
to one workload and one workload's warm state can't help the next. The server
is pinned to one CPU and wrk (plus this process) to another, so the load
generator never competes with the server it measures. The WebSocket workloads
use their own driver (``bench/ws_driver.py``) with the same rules.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from bench import pgdata, report
from bench.peers import PEERS, Peer
from bench.peers.ws_peers import WS_ENDPOINTS, serves
from bench.servers import REPO_ROOT, ServerError, ServerProcess
from bench.sysinfo import load_average, machine_info
from bench.verify import check_wrk_result, verify_workload
from bench.workloads import WORKLOADS, WORLD, Workload
from bench.wrk import WrkError, WrkResult, parse_wrk_output, run_wrk, wrk_command
from bench.ws_client import Outcome
from bench.ws_driver import measure_ws, ws_versions

RESULTS_ROOT = Path(__file__).resolve().parent / "results"
# One benchmark run per machine at a time: two runs would pin their servers to the same
# core, and one run's updates would change the rows the other's verifier is checking.
LOCK_PATH = Path(tempfile.gettempdir()) / "tidal-bench.lock"


class Preset(NamedTuple):
    duration_s: float
    warmup_s: float
    repetitions: int


# Quick: one short round of the --quick peers (< 3 min). Full: three interleaved rounds,
# so a burst of noise from other work on the machine hits every peer alike.
QUICK = Preset(duration_s=2.0, warmup_s=1.0, repetitions=1)
FULL = Preset(duration_s=5.0, warmup_s=2.0, repetitions=3)
SELECTION = (
    "median repetition by req/s (by p99 for the stall workload); its p50/p99 are reported with it"
)


class WsPreset(NamedTuple):
    """Sizes of the WebSocket workloads: ``clients`` subscribers get ``warmup`` then
    ``messages`` broadcasts of ``payload`` bytes (at most ``budget_s`` of them timed,
    at least 3); ``idle`` connections are held ``hold_s`` seconds."""

    clients: int
    messages: int
    warmup: int
    idle: int
    payload: int = 64
    hold_s: float = 2.0
    budget_s: float = 30.0


WS_QUICK = WsPreset(clients=200, messages=10, warmup=1, idle=300, hold_s=0.5, budget_s=3.0)
WS_FULL = WsPreset(clients=5000, messages=50, warmup=2, idle=5000, hold_s=3.0, budget_s=30.0)


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
    rounds: str = "interleaved: each round starts every (peer, workload) afresh"
    # WebSocket workloads; None: the mode's preset (WS_QUICK or WS_FULL), set by run().
    ws_clients: int | None = None
    ws_messages: int | None = None
    ws_warmup: int | None = None
    ws_idle: int | None = None
    ws_payload: int | None = None
    ws_hold_s: float | None = None
    ws_budget_s: float | None = None

    def fill_ws_sizes(self) -> None:
        """Take every WebSocket size not given from the mode's preset."""
        preset = WS_QUICK if self.mode == "quick" else WS_FULL
        for name in WsPreset._fields:
            if getattr(self, "ws_" + name) is None:
                setattr(self, "ws_" + name, getattr(preset, name))


@dataclass
class Measurement:
    """Outcome for one (peer, workload) over all rounds.

    ``status`` is "ok", "invalid", "error" or "not yet" (the peer has no implementation
    of the workload; ``reason`` says why).
    """

    peer: str
    workload: str
    server: str
    app: str = ""
    status: str = "ok"
    reason: str = ""
    metric: str = "rps"
    startup_s: float | None = None
    warmup: WrkResult | None = None
    repetitions: list[WrkResult] = field(default_factory=list)
    background: list[WrkResult] = field(default_factory=list)  # the /cpu load of "stall"
    cpu_request_ms: float | None = None  # one /cpu request alone (stall), median of 5
    selected: int | None = None  # index into repetitions
    peak_rss_kib: int | None = None
    peak_tree_rss_kib: int | None = None
    server_command: list[str] = field(default_factory=list)
    wrk_command: list[str] = field(default_factory=list)  # or the WebSocket client's
    ws: list[Outcome] = field(default_factory=list)  # WebSocket workloads: per repetition

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


def select_median(
    results: list[WrkResult], metric: str = "rps", ws: list[Outcome] | None = None
) -> int:
    """Index of the median run by req/s (msg/s), by p99, or by memory per connection
    (``ws``, for ``"kib"``); the lower median for an even count."""
    if metric == "p99":
        order = sorted(range(len(results)), key=lambda i: results[i].p99_ms or 0.0)
    elif metric == "kib" and ws:
        order = sorted(range(len(ws)), key=lambda i: ws[i].kib_per_connection or 0.0)
    else:
        order = sorted(range(len(results)), key=lambda i: results[i].requests_per_sec)
    return order[(len(order) - 1) // 2]


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _time_requests(url: str, headers: dict[str, str], count: int = 5) -> float | None:
    """Median milliseconds of ``count`` sequential requests, or None if one failed."""
    times = []
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        for _ in range(count):
            started = time.perf_counter()
            try:
                client.get(url, headers=headers)
            except httpx.HTTPError:
                return None
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


class _Background:
    """A wrk run in the background (the stall workload's /cpu load)."""

    def __init__(self, cmd: list[str], duration_s: float) -> None:
        self.cmd = cmd
        self.duration_s = duration_s
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self) -> WrkResult:
        try:
            out, err = self.proc.communicate(timeout=self.duration_s + 60)
        except subprocess.TimeoutExpired as exc:
            self.proc.kill()
            raise WrkError("background wrk did not finish") from exc
        if self.proc.returncode != 0:
            raise WrkError(f"background wrk exited {self.proc.returncode}: {err.strip()}")
        return parse_wrk_output(out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def new_measurement(peer: Peer, workload: Workload, settings: RunSettings) -> Measurement:
    server = settings.server if settings.server and peer.asgi else peer.server
    app = peer.app_for(workload.name)
    endpoint = WS_ENDPOINTS.get(peer.name) if workload.ws else None
    if endpoint is not None:
        app = endpoint.app or app
        server = endpoint.server or server
    m = Measurement(
        peer=peer.name,
        workload=workload.name,
        server=server,
        app=app,
        metric=workload.metric,
    )
    if workload.name in peer.missing:
        m.status, m.reason = "not yet", peer.missing[workload.name]
    return m


def measure(
    peer: Peer,
    workload: Workload,
    settings: RunSettings,
    m: Measurement | None = None,
    *,
    repetitions: int | None = None,
) -> Measurement:
    """Start ``peer``, verify ``workload``, warm up, time it; never raises for peer faults.

    Appends ``repetitions`` (default: all of ``settings``) timed runs to ``m``, so the
    runner can call it once per round with ``repetitions=1``.
    """
    if m is None:
        m = new_measurement(peer, workload, settings)
    if m.status != "ok":
        return m
    env = {**peer.env}
    if workload.needs_db or workload.background is not None:
        env.update(pgdata.peer_environment())
    try:
        srv = ServerProcess(m.app, m.server, cpu=settings.server_cpu, env=env)
    except ServerError as exc:
        m.status, m.reason = "error", str(exc)
        return m
    m.server_command = srv.command
    try:
        with srv:
            if m.startup_s is None and srv.startup_s is not None:
                m.startup_s = round(srv.startup_s, 3)
            problems = verify_workload(srv.base_url, workload)
            if problems:
                m.status, m.reason = "invalid", "; ".join(problems)
                return m
            headers = dict(workload.headers)
            if workload.background is not None and m.cpu_request_ms is None:
                bg_url = srv.base_url + workload.background.path
                m.cpu_request_ms = _time_requests(bg_url, headers)

            def wrk(duration_s: float, path: str, connections: int) -> list[str]:
                return wrk_command(
                    srv.base_url + path,
                    connections=connections,
                    duration_s=duration_s,
                    threads=settings.threads,
                    headers=workload.headers,
                    extra_args=workload.wrk_args,
                    cpu=settings.load_cpu,
                )

            def timed(duration_s: float) -> tuple[WrkResult, WrkResult | None]:
                bg = None
                if workload.background is not None:
                    # The CPU load starts half a second early and outlasts the timed run.
                    bg_cmd = wrk(
                        duration_s + 2, workload.background.path, workload.background.connections
                    )
                    bg = _Background(bg_cmd, duration_s + 2)
                    time.sleep(0.5)
                try:
                    cmd = wrk(duration_s, workload.path, settings.connections)
                    m.wrk_command = cmd
                    result, _ = run_wrk(cmd, duration_s=duration_s)
                    bg_result = bg.result() if bg is not None else None
                finally:
                    if bg is not None:
                        bg.kill()
                if not srv.alive():
                    raise ServerError("server died under load:\n" + srv.log_tail())
                return result, bg_result

            def problems_of(result: WrkResult, bg_result: WrkResult | None) -> list[str]:
                found = check_wrk_result(result)
                if bg_result is not None:
                    found += [f"background {p}" for p in check_wrk_result(bg_result)]
                return found

            if settings.warmup_s > 0:
                m.warmup, bg_result = timed(settings.warmup_s)
                # A short warm-up may complete nothing against a slow peer; only errors count.
                problems = [p for p in problems_of(m.warmup, bg_result) if "no requests" not in p]
                if problems:
                    m.status, m.reason = "invalid", "during warm-up: " + "; ".join(problems)
                    return m
                # A sync worker still owes answers to the warm-up's closed connections; one
                # request waits for that backlog, so the timed run starts from an idle server.
                _time_requests(srv.base_url + workload.path, headers, count=1)
            for _ in range(settings.repetitions if repetitions is None else repetitions):
                result, bg_result = timed(settings.duration_s)
                m.repetitions.append(result)
                if bg_result is not None:
                    m.background.append(bg_result)
                problems = problems_of(result, bg_result)
                if problems:
                    n = len(m.repetitions)
                    m.status, m.reason = "invalid", f"repetition {n}: " + "; ".join(problems)
                    return m
            m.selected = select_median(m.repetitions, m.metric)
    except (ServerError, WrkError) as exc:
        m.status, m.reason = "error", str(exc)
    finally:
        if srv.memory is not None:
            m.peak_rss_kib = max(m.peak_rss_kib or 0, srv.memory.peak_rss_kib)
            m.peak_tree_rss_kib = max(m.peak_tree_rss_kib or 0, srv.memory.peak_tree_rss_kib)
    return m


Driver = Callable[..., Measurement]
DRIVERS: dict[str, Driver] = {"wrk": measure, "ws": measure_ws}
"""Load generator per ``Workload.driver``: ``driver(peer, workload, settings, m,
repetitions=1)`` runs one round and appends to ``m``, like :func:`measure`. ``"ws"``:
the WebSocket fan-out and idle-memory client (``bench/ws_driver.py``)."""


def applies(peer: Peer, workload: Workload) -> bool:
    """Whether ``peer`` has an implementation of ``workload``'s suite (HTTP or WebSocket);
    within a suite a missing workload is reported "not yet", never dropped."""
    return serves(peer.name, websocket=workload.ws is not None)


def raise_open_files_limit(needed: int) -> int:
    """Raise this process's (and so its children's) open-files limit toward ``needed``,
    up to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@contextlib.contextmanager
def machine_lock(command: str, path: Path = LOCK_PATH) -> Iterator[None]:
    """Hold the machine-wide benchmark lock, waiting (and saying so) while another has it."""
    with path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            _log(f"waiting for another benchmark run to finish ({holder})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}: {command}\n")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so the running server and wrk are stopped, not orphaned.
    raise SystemExit(128 + signum)


def run(settings: RunSettings, *, output_dir: Path | None, command: str) -> dict[str, Any]:
    """Run every (peer, workload), write results.json/results.md, return the report."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with machine_lock(command):
            return _run(settings, output_dir=output_dir, command=command)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prepare_ws(settings: RunSettings) -> None:
    """Open-files limit for the idle connections (server and client each hold one per
    connection); fewer connections, said loudly, when the machine allows fewer."""
    assert settings.ws_clients is not None
    assert settings.ws_idle is not None
    wanted = max(settings.ws_clients, settings.ws_idle) + 1024
    limit = raise_open_files_limit(wanted)
    if limit < wanted:
        allowed = max(limit - 1024, 1)
        _log(f"warning: open files limited to {limit} (ulimit -n): {allowed} connections at most")
        settings.ws_clients = min(settings.ws_clients, allowed)
        settings.ws_idle = min(settings.ws_idle, allowed)


def _run(settings: RunSettings, *, output_dir: Path | None, command: str) -> dict[str, Any]:
    started = time.perf_counter()
    started_at = datetime.now().astimezone()
    load_at_start = load_average()
    if settings.server_cpu is None and settings.load_cpu is None:
        settings.server_cpu, settings.load_cpu = choose_cpus()
    if settings.load_cpu is None:
        _log("warning: fewer than 2 CPUs or no taskset; server and wrk share CPUs")

    original_affinity = os.sched_getaffinity(0)
    if settings.load_cpu is not None:
        # Keep the harness itself (verification, memory sampling) off the server's CPU.
        os.sched_setaffinity(0, {settings.load_cpu})
    settings.fill_ws_sizes()
    every = [(PEERS[p], WORKLOADS[w]) for p in settings.peers for w in settings.workloads]
    pairs = [(peer, workload) for peer, workload in every if applies(peer, workload)]
    for suite, websocket in (("WebSocket", True), ("HTTP", False)):
        names = {p.name for p, w in every if (w.ws is not None) == websocket and not applies(p, w)}
        if names:
            _log(f"{suite} workloads skipped for {', '.join(sorted(names))}: no implementation")
    if any(w.ws for _, w in pairs):
        _prepare_ws(settings)
    if any(w.needs_db for _, w in pairs):
        _log("database: " + pgdata.ensure())
        pgdata.vacuum()
    measurements = [new_measurement(peer, workload, settings) for peer, workload in pairs]
    try:
        for round_ in range(1, settings.repetitions + 1):
            for (peer, workload), m in zip(pairs, measurements, strict=True):
                if m.status != "ok":
                    continue
                _log(f"round {round_}/{settings.repetitions}: {peer.name} / {workload.name} ...")
                DRIVERS[workload.driver](peer, workload, settings, m, repetitions=1)
                if m.status == "ok":
                    _log(f"{peer.name} / {workload.name}: {report.last_round(m)}")
                else:
                    _log(f"{peer.name} / {workload.name}: {m.status.upper()}: {m.reason}")
    finally:
        os.sched_setaffinity(0, original_affinity)
        WORLD.close()
    for (peer, workload), m in zip(pairs, measurements, strict=True):
        if m.status == "not yet":
            _log(f"{peer.name} / {workload.name}: NOT YET: {m.reason}")

    machine = machine_info(REPO_ROOT)
    if any(w.ws for _, w in pairs):
        machine["ws_packages"] = ws_versions()
    data: dict[str, Any] = {
        "date": started_at.strftime("%Y-%m-%d"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "command": command,
        "machine": machine,
        "load_average": {"start": load_at_start, "end": load_average()},
        "settings": settings,
        "results": measurements,
    }
    out = output_dir if output_dir is not None else RESULTS_ROOT / data["date"]
    report.write(data, out)
    _log(f"wrote {out / 'results.json'} and {out / 'results.md'} in {data['elapsed_s']} s")
    return data
