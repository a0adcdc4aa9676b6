"""The runner's driver for the WebSocket workloads (``ws_fanout``, ``ws_idle``).

Per round, like the HTTP driver: a fresh server pinned to the server CPU, verification
(a few subscribers must receive events of every frame-length class, once each, in
order; done by the client before it times anything), then the timed client run. The
client is ``bench/ws_client.py`` in its own process pinned to the load CPU, as wrk is,
so the harness's memory sampler never steals its event loop's time. A peer whose
subscribers miss, repeat or reorder an event, or that closes one, is invalid, not timed.

Each round's client outcome is kept whole in ``Measurement.ws`` and also mapped onto a
``WrkResult`` (rate as requests/s, latency percentiles), so the tables, ratios and charts
shared with the HTTP workloads apply unchanged.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from importlib import metadata
from typing import TYPE_CHECKING

import msgspec

from bench.peers.ws_peers import WS_ENDPOINTS, WsEndpoint
from bench.servers import REPO_ROOT, ServerError, ServerProcess
from bench.wrk import WrkResult
from bench.ws_client import Outcome

if TYPE_CHECKING:
    from bench.peers import Peer
    from bench.runner import Measurement, RunSettings
    from bench.workloads import Workload

VERIFY_CLIENTS = 4
NODE_MODULES = REPO_ROOT / "bench" / "node" / "node_modules"


def ws_versions() -> dict[str, str]:
    """Versions of the WebSocket stacks measured, for results.json (the HTTP packages are
    in ``bench/sysinfo.py``)."""
    versions: dict[str, str] = {}
    for name in ("websockets", "channels", "daphne", "channels-redis", "redis"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    for name in ("ws", "socket.io"):
        try:
            manifest = json.loads((NODE_MODULES / name / "package.json").read_text())
        except (OSError, ValueError):
            continue
        versions[f"{name} (node)"] = str(manifest.get("version"))
    return versions


class WsClientError(RuntimeError):
    """The load client crashed or printed no result; the message has its stderr."""


def client_command(
    mode: str,
    base_url: str,
    endpoint: WsEndpoint,
    settings: RunSettings,
    *,
    server_pid: int | None,
) -> list[str]:
    """``python -m bench.ws_client`` with this run's sizes, pinned like wrk; it verifies
    ``VERIFY_CLIENTS`` subscribers before the timed part."""
    clients = settings.ws_clients if mode == "fanout" else settings.ws_idle
    pin = [] if settings.load_cpu is None else ["taskset", "-c", str(settings.load_cpu)]
    cmd = [
        *pin, sys.executable, "-m", "bench.ws_client", mode,
        "--base-url", base_url, "--path", endpoint.path, "--dialect", endpoint.dialect,
        "--clients", str(clients), "--messages", str(settings.ws_messages),
        "--warmup", str(settings.ws_warmup), "--payload", str(settings.ws_payload),
        "--budget", str(settings.ws_budget_s), "--hold", str(settings.ws_hold_s),
        "--verify", str(VERIFY_CLIENTS),
    ]  # fmt: skip
    if server_pid is not None:
        cmd += ["--server-pid", str(server_pid)]
    return cmd


def run_client(cmd: list[str], timeout_s: float = 900.0) -> Outcome:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise WsClientError(f"the WebSocket client did not finish in {timeout_s:.0f} s") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise WsClientError(f"the WebSocket client exited {proc.returncode}:\n{tail}")
    return msgspec.json.decode(proc.stdout.strip().splitlines()[-1], type=Outcome)


def as_wrk_result(outcome: Outcome) -> WrkResult:
    """The figures every workload shares: rate (deliveries/s, or connections/s for idle)
    and latency (delivery, or connect and join for idle)."""
    return WrkResult(
        requests_per_sec=outcome.rate,
        requests=outcome.deliveries,
        duration_s=outcome.duration_s,
        latency_avg_ms=outcome.avg_ms,
        latency_max_ms=outcome.max_ms,
        percentiles_ms=dict(outcome.percentiles_ms),
    )


def measure_ws(
    peer: Peer,
    workload: Workload,
    settings: RunSettings,
    m: Measurement,
    *,
    repetitions: int | None = None,
) -> Measurement:
    """Start ``peer``, verify, run ``workload``'s client; per repetition a fresh server.
    Never raises for peer faults: they become ``m.status``."""
    from bench.runner import select_median

    if m.status != "ok":
        return m
    endpoint = WS_ENDPOINTS[peer.name]
    assert workload.ws is not None
    for _ in range(settings.repetitions if repetitions is None else repetitions):
        try:
            srv = ServerProcess(m.app, m.server, cpu=settings.server_cpu, env=dict(peer.env))
        except ServerError as exc:
            m.status, m.reason = "error", str(exc)
            return m
        m.server_command = srv.command
        try:
            with srv:
                if m.startup_s is None and srv.startup_s is not None:
                    m.startup_s = round(srv.startup_s, 3)
                # The client verifies first, and times nothing if that fails.
                cmd = client_command(
                    workload.ws, srv.base_url, endpoint, settings, server_pid=srv.pid
                )
                m.wrk_command = cmd
                outcome = run_client(cmd)
                if not srv.alive():
                    raise ServerError("server died under load:\n" + srv.log_tail())
                if outcome.problems:
                    n = len(m.repetitions) + 1
                    m.status = "invalid"
                    m.reason = f"repetition {n}: " + "; ".join(outcome.problems)
                    return m
                m.repetitions.append(as_wrk_result(outcome))
                m.ws.append(outcome)
        except (ServerError, WsClientError) as exc:
            m.status, m.reason = "error", str(exc)
            return m
        finally:
            if srv.memory is not None:
                m.peak_rss_kib = max(m.peak_rss_kib or 0, srv.memory.peak_rss_kib)
                m.peak_tree_rss_kib = max(m.peak_tree_rss_kib or 0, srv.memory.peak_tree_rss_kib)
    m.selected = select_median(m.repetitions, m.metric, m.ws)
    return m


__all__ = [
    "WsClientError",
    "as_wrk_result",
    "client_command",
    "measure_ws",
    "run_client",
    "ws_versions",
]
