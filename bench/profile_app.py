"""Framework cost per request, without a server: call each ASGI app in-process.

    .venv/bin/python -m bench.profile_app                       # µs/request, all apps
    .venv/bin/python -m bench.profile_app --app tidal --path /json --cprofile 25
    .venv/bin/python -m bench.profile_app --instructions        # instructions/request

wrk numbers mix the framework with the server (uvicorn's HTTP parsing and transport
writes are most of a plaintext request). Here each app gets the same pre-built
``scope`` and a ``send`` that drops messages, so the difference between two apps is
exactly what their own code costs. ``--cprofile N`` prints the N functions with the most
own time for one app and path, which is how docs/performance.md names Tidal's costs.
``--instructions`` counts machine instructions per request under valgrind's callgrind
(two runs of different lengths, subtracted, so start-up cancels out): on a machine shared
with other work that count is repeatable where timings are not. Only endpoints that need
no database are timed here.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

APPS = {
    "asgi": "bench.peers.asgi_app:app",
    "starlette": "bench.peers.starlette_app:app",
    "fastapi": "bench.peers.fastapi_app:app",
    "tidal": "bench.peers.tidal_app:app",
}


def load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def scope_for(target: str) -> dict[str, Any]:
    """What uvicorn hands an app for ``GET target`` (a path, maybe with a query string)
    with wrk's headers."""
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"application/json,text/html;q=0.9,*/*;q=0.7"),
            (b"connection", b"keep-alive"),
        ],
        "state": {},
    }


async def _lifespan_start(app: Any) -> None:
    """Run the app's lifespan startup (Tidal compiles routes and middleware there)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()
    await queue.put({"type": "lifespan.startup"})

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.create_task(app({"type": "lifespan", "state": {}}, queue.get, send))
    await started.wait()
    _lifespan_start.tasks.append(task)  # type: ignore[attr-defined]


_lifespan_start.tasks = []  # type: ignore[attr-defined]


async def _time(app: Any, path: str, requests: int) -> tuple[float, int]:
    body_event = {"type": "http.request", "body": b"", "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return body_event

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(200):  # warm caches
        await app(scope_for(path), receive, send)
    started = time.perf_counter()
    for _ in range(requests):
        await app(scope_for(path), receive, send)
    elapsed = time.perf_counter() - started
    return elapsed / requests * 1e6, statuses[-1]


def measure(name: str, path: str, requests: int, profile: int = 0) -> float:
    app = load(APPS[name])
    runner: Callable[[Any], Any]
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run

    async def main() -> float:
        await _lifespan_start(app)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            per_request, status = await _time(app, path, requests)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile)
            print(out.getvalue())
        else:
            per_request, status = await _time(app, path, requests)
        if status != 200:
            raise SystemExit(f"{name} {path}: status {status}")
        return per_request

    return float(runner(main()))


_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(name: str, path: str, requests: int) -> float:
    """Instructions per request: callgrind's total for ``requests`` more requests, minus
    a short run's, divided by the difference (the hash seed is fixed for repeatability)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    short = max(100, requests // 10)
    totals = []
    for count in (short, short + requests):
        command = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, "-m", "bench.profile_app", "--app", name, "--path", path,
            "--requests", str(count), "--repeat", "1",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        found = _COLLECTED.search(done.stderr)
        if found is None:
            raise SystemExit(f"no callgrind total in:\n{done.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / requests


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_app", description=__doc__)
    parser.add_argument("--app", choices=list(APPS), action="append")
    parser.add_argument("--path", action="append", help="default: /plaintext and /json")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5, help="best of N timings")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instructions per request under callgrind (--requests defaults to 5,000)",
    )
    args = parser.parse_args()
    paths = args.path or ["/plaintext", "/json"]
    apps = args.app or list(APPS)
    if args.instructions:
        requests = 5_000 if args.requests == 20_000 else args.requests
        print(f"{'app':<10} {'path':<11} {'instructions/req':>16}")
        for path in paths:
            for name in apps:
                print(f"{name:<10} {path:<11} {instructions(name, path, requests):>16,.0f}")
        return
    if args.cprofile:
        for name in apps:
            for path in paths:
                print(f"== {name} {path}")
                measure(name, path, args.requests, profile=args.cprofile)
        return
    print(f"{'app':<10} {'path':<11} {'best µs/req':>11}  {'all':<30}")
    for path in paths:
        for name in apps:
            runs = [measure(name, path, args.requests) for _ in range(args.repeat)]
            shown = ", ".join(f"{r:.1f}" for r in runs)
            print(f"{name:<10} {path:<11} {min(runs):>11.2f}  {shown}")


if __name__ == "__main__":
    main()
