"""Where an idle WebSocket subscriber's memory goes, by source file (tracemalloc).

    .venv/bin/python -m bench.ws_memory --peer tidal --connections 2000

``ws_idle`` measures the server's RSS per connection; this says which layer holds it.
The peer's WebSocket app is served by uvicorn (websockets-sansio, as the runner serves
it) inside this process with tracemalloc on; ``bench/ws_client.py`` opens the connections
from a subprocess and joins them to the topic; once they are all open, the growth of
Python allocations is printed per connection and per file. Python allocations only:
kernel socket buffers and the allocator's slack are not in it, so it reads a little
below the RSS figure. ASGI peers only (Node's memory is not Python's).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Sequence

import uvicorn
from uvicorn.importer import import_from_string

from bench.peers import PEERS
from bench.peers.ws_peers import WS_ENDPOINTS
from bench.servers import free_port

PYTHON_LIB = os.path.dirname(os.__file__) + "/"


def _short(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if filename.startswith(PYTHON_LIB):
        return "stdlib " + filename.removeprefix(PYTHON_LIB)
    return os.path.relpath(filename)


async def attribute(peer: str, connections: int, top: int) -> list[str]:
    """Serve ``peer``, let the client open ``connections``, report allocations by file."""
    endpoint = WS_ENDPOINTS[peer]
    app = import_from_string(endpoint.app or PEERS[peer].app)
    port = free_port()
    config = uvicorn.Config(
        app, port=port, ws="websockets-sansio", http="httptools", loop="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    pin = ["taskset", "-c", "1"] if len(os.sched_getaffinity(0)) >= 2 else []
    client = await asyncio.create_subprocess_exec(
        *pin, sys.executable, "-m", "bench.ws_client", "idle", "--verify", "0",
        "--base-url", f"http://127.0.0.1:{port}", "--path", endpoint.path,
        "--dialect", endpoint.dialect, "--clients", str(connections), "--hold", "600",
        "--server-pid", str(os.getpid()), stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while len(server.server_state.connections) < connections:
        if client.returncode is not None or time.monotonic() > deadline:
            raise SystemExit("the client did not open every connection")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # the last joins complete
    gc.collect()
    stats = tracemalloc.take_snapshot().compare_to(before, "filename")
    tracemalloc.stop()
    client.terminate()
    await client.wait()
    server.should_exit = True
    await serving
    total = sum(s.size_diff for s in stats) / connections / 1024
    lines = [f"{peer}: {connections} joined idle sockets, {total:.1f} KiB of allocations each"]
    for s in stats[:top]:
        lines.append(
            f"{s.size_diff / connections:7.0f} B {s.count_diff / connections:5.1f} blocks  "
            + _short(s.traceback[0].filename)
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    asgi = [name for name in WS_ENDPOINTS if PEERS[name].server == "uvicorn"]
    parser = argparse.ArgumentParser(prog="python -m bench.ws_memory", description=__doc__)
    parser.add_argument("--peer", choices=asgi, default="tidal")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--top", type=int, default=15, help="files listed")
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {0})  # the server's CPU; the client goes to CPU 1
    import uvloop

    print("\n".join(uvloop.run(attribute(args.peer, args.connections, args.top))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
