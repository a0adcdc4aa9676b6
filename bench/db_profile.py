"""CPU cost per request of the TechEmpower database workloads, without a server: the Tidal
ORM peer against bare asyncpg on Starlette, both called in-process over ASGI against the
real PostgreSQL.

    .venv/bin/python -m bench setup-db                 # the bench database, once
    .venv/bin/python -m bench.db_profile               # all four workloads, both peers
    .venv/bin/python -m bench.db_profile --peer tidal --workload queries --cprofile 30
    .venv/bin/python -m bench.db_profile --instructions --concurrency 10  # callgrind

wrk on a shared two-core machine is noisy; the CPU time a request costs the server's
process is not. Each peer's app runs its lifespan, then ``--requests`` requests per
workload are sent with ``--concurrency`` of them in flight (64, as wrk's connections do,
so the pool's waiting path is exercised), each with a fresh uvicorn-like ``scope`` and a
``send`` that keeps only the status. CPU is this process's user + system time
(``getrusage``; PostgreSQL's own work is excluded, as it is on another core under wrk);
system time, shown apart, is mostly the kernel's side of socket writes to PostgreSQL.
``bare ÷ tidal`` is the throughput ratio the CPU costs predict for one worker on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import io
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.profile_app import scope_for

PEERS = {
    "tidal": "bench.peers.db_tidal_app:app",
    "starlette": "bench.peers.db_starlette_app:app",
}
WORKLOADS = {
    "db": "/db",
    "queries": "/queries?queries=20",
    "fortunes": "/fortunes",
    "updates": "/updates?queries=20",
}
# Requests per timing for each workload: about the same wall time for each.
REQUESTS = {"db": 4000, "queries": 400, "fortunes": 4000, "updates": 300}

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Lifespan:
    """Runs an app's lifespan startup and, later, its shutdown."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.events: dict[str, asyncio.Event] = {}
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"].endswith(".failed"):
            raise SystemExit(f"lifespan failed: {message.get('message')}")
        self.events.setdefault(message["type"], asyncio.Event()).set()

    async def _wait(self, kind: str) -> None:
        event = self.events.setdefault(kind, asyncio.Event())
        await event.wait()

    async def start(self) -> None:
        self.task = asyncio.create_task(
            self.app({"type": "lifespan", "state": {}}, self.queue.get, self._send)
        )
        await self.queue.put({"type": "lifespan.startup"})
        await self._wait("lifespan.startup.complete")

    async def stop(self) -> None:
        await self.queue.put({"type": "lifespan.shutdown"})
        await self._wait("lifespan.shutdown.complete")
        if self.task is not None:
            await self.task


@dataclass
class Timing:
    cpu_us: float  # process CPU per request (user + system)
    sys_us: float  # of which in the kernel (socket reads and writes, mostly)
    wall_us: float  # wall time per request (concurrent requests overlap)
    p99_ms: float  # 99th percentile of one request's latency, start to end


async def drive(app: ASGIApp, target: str, requests: int, concurrency: int) -> Timing:
    """Send ``requests`` GETs of ``target``, ``concurrency`` at a time; all must be 200."""
    body_event = {"type": "http.request", "body": b"", "more_body": False}
    failures: list[int] = []
    bodies: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return body_event

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            failures.append(message["status"])
        elif message["type"] == "http.response.body" and len(bodies) < len(failures):
            bodies.append(message.get("body", b""))

    remaining = requests
    latencies: list[float] = []
    clock = time.perf_counter

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = clock()
            await app(scope_for(target), receive, send)
            latencies.append(clock() - started)
            # A server reads the next request in a later turn of the loop; without this
            # turn a client would take back the pooled connection it just returned before
            # the request woken to receive it runs, and starve it.
            await asyncio.sleep(0)

    gc.collect()
    before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall
    if failures:
        raise SystemExit(
            f"{target}: {len(failures)} responses not 200, the first {failures[0]}: "
            f"{bodies[0][:500] if bodies else b''!r}"
        )
    system = after.ru_stime - before.ru_stime
    cpu = after.ru_utime - before.ru_utime + system
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
    return Timing(cpu / requests * 1e6, system / requests * 1e6, wall / requests * 1e6, p99 * 1e3)


def measure(
    peer: str,
    workloads: list[str],
    *,
    requests: int | None,
    concurrency: int,
    repeat: int,
    warmup: int | None = None,
    profile: int = 0,
) -> dict[str, list[Timing]]:
    """``repeat`` timings of each workload for one peer, in one event loop."""
    module, _, attr = PEERS[peer].partition(":")
    app = getattr(importlib.import_module(module), attr)
    results: dict[str, list[Timing]] = {}

    async def main() -> None:
        lifespan = Lifespan(app)
        await lifespan.start()
        try:
            for workload in workloads:
                target = WORKLOADS[workload]
                count = requests or REQUESTS[workload]
                await drive(
                    app, target, max(count // 10, 20) if warmup is None else warmup, concurrency
                )
                if profile:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await drive(app, target, count, concurrency)
                    profiler.disable()
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats("tottime").print_stats(profile)
                    stats.sort_stats("cumulative").print_stats(profile)
                    print(f"== {peer} {target}\n{out.getvalue()}")
                    continue
                results[workload] = [
                    await drive(app, target, count, concurrency) for _ in range(repeat)
                ]
        finally:
            await lifespan.stop()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover
        asyncio.run(main())
    return results


def best(timings: list[Timing]) -> Timing:
    """The repetition with the least CPU (the one least disturbed by other work)."""
    return min(timings, key=lambda t: t.cpu_us)


def report(results: dict[str, dict[str, list[Timing]]], workloads: list[str]) -> str:
    lines = [
        "| workload | tidal CPU µs/req | bare CPU µs/req | bare ÷ tidal (CPU) "
        "| tidal wall µs/req | bare wall µs/req | bare ÷ tidal (wall) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    tidal, bare = results.get("tidal", {}), results.get("starlette", {})
    for workload in workloads:
        if workload not in tidal or workload not in bare:
            continue
        t, b = best(tidal[workload]), best(bare[workload])
        t_wall = statistics.median(x.wall_us for x in tidal[workload])
        b_wall = statistics.median(x.wall_us for x in bare[workload])
        lines.append(
            f"| {workload} | {t.cpu_us:,.0f} | {b.cpu_us:,.0f} | {b.cpu_us / t.cpu_us:.2f} "
            f"| {t_wall:,.0f} | {b_wall:,.0f} | {b_wall / t_wall:.2f} |"
        )
    return "\n".join(lines)


_COLLECTED = re.compile(r"Collected : (\d+)")
# Requests per callgrind run (about a minute each under valgrind).
INSTRUCTION_REQUESTS = {"db": 1000, "queries": 100, "fortunes": 1000, "updates": 100}


def instructions(peer: str, workload: str, requests: int, concurrency: int) -> float:
    """Machine instructions per request of this process (user space; PostgreSQL and the
    kernel excluded): callgrind's total for a run of ``2 * requests`` requests minus that
    of a run of ``requests``, divided by ``requests``, so start-up and warm-up cancel
    out. Repeatable to about 1% on a busy machine, where timings are not."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    totals = []
    for count in (requests, 2 * requests):
        command = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, "-m", "bench.db_profile", "--peer", peer, "--workload", workload,
            "--requests", str(count), "--warmup", "50", "--repeat", "1",
            "--concurrency", str(concurrency),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        found = _COLLECTED.search(done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"callgrind run failed:\n{done.stdout[-1000:]}{done.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / requests


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.db_profile", description=__doc__)
    parser.add_argument("--peer", choices=list(PEERS), action="append")
    parser.add_argument("--workload", choices=list(WORKLOADS), action="append")
    parser.add_argument("--requests", type=int, help="per timing (default: per workload)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5, help="timings per workload")
    parser.add_argument("--warmup", type=int, help="requests before timing (default: 10%%)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instructions per request under callgrind instead of times",
    )
    args = parser.parse_args()
    os.environ.setdefault(
        "TIDAL_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
    )
    peers = args.peer or list(PEERS)
    workloads = args.workload or list(WORKLOADS)
    if args.instructions:
        print("| workload | tidal instructions/req | bare instructions/req | bare ÷ tidal |")
        print("| --- | ---: | ---: | ---: |")
        for workload in workloads:
            count = args.requests or INSTRUCTION_REQUESTS[workload]
            found = {p: instructions(p, workload, count, args.concurrency) for p in peers}
            tidal, bare = found.get("tidal"), found.get("starlette")
            ratio = f"{bare / tidal:.2f}" if tidal and bare else "-"
            shown = [f"{found[p]:,.0f}" if p in found else "-" for p in ("tidal", "starlette")]
            print(f"| {workload} | {shown[0]} | {shown[1]} | {ratio} |", flush=True)
        return
    results: dict[str, dict[str, list[Timing]]] = {}
    for peer in peers:
        results[peer] = measure(
            peer,
            workloads,
            requests=args.requests,
            concurrency=args.concurrency,
            repeat=args.repeat,
            warmup=args.warmup,
            profile=args.cprofile,
        )
        for workload, timings in results[peer].items():
            cpu = ", ".join(f"{t.cpu_us:,.0f} ({t.sys_us:,.0f})" for t in timings)
            wall = ", ".join(f"{t.wall_us:,.0f}" for t in timings)
            p99 = ", ".join(f"{t.p99_ms:,.1f}" for t in timings)
            print(
                f"{peer:<10} {workload:<9} CPU (sys) µs/req {cpu}  wall µs/req {wall}"
                f"  p99 ms {p99}",
                flush=True,
            )
    if not args.cprofile and len(peers) > 1:
        print()
        print(report(results, workloads))


if __name__ == "__main__":
    main()
