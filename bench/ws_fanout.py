"""Broadcast fan-out benchmark: one publisher, N WebSocket subscribers on one worker.

    .venv/bin/python -m bench.ws_fanout --clients 1000
    .venv/bin/python -m bench.ws_fanout --clients 10000 --rounds 20 --json out.json

Starts ``bench.peers.tidal_ws:app`` under uvicorn (pinned to CPU 0 with taskset when there
are two CPUs), opens N subscribers from this process (pinned to CPU 1) with a minimal
RFC 6455 client (a plain asyncio protocol, so the client side costs microseconds per
message and does not dominate the measurement), joins them all to one topic, then
publishes ``--rounds`` events through ``POST /publish``, one at a time. For each event and
subscriber, the latency is the time from just before the HTTP request is sent to the
arrival of the frame at that subscriber (CLOCK_MONOTONIC, same host). Reported: p50 and p99
over all deliveries, the median over rounds of the last subscriber's latency, the server's
CPU time per event (steadier than latency on a busy machine), and the server's resident
memory per connection ((RSS with N clients - RSS before) / N).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "bench:all"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (less disturbed by other load on the
    machine than wall-clock latency)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Round:
    """Counts the deliveries of the current event."""

    def __init__(self) -> None:
        self.expected = 0
        self.received = 0
        self.done = asyncio.Event()

    def arrived(self) -> None:
        self.received += 1
        if self.received >= self.expected:
            self.done.set()


class Subscriber(asyncio.Protocol):
    """One subscriber: handshake, join, then timestamp every event frame on arrival."""

    def __init__(self, host: str, path: str, current: Round, joined: asyncio.Future[None]):
        self.host = host
        self.path = path
        self.current = current
        self.joined = joined
        self.buffer = b""
        self.upgraded = False
        self.arrivals: list[float] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is not a subclass)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        size = len(payload)
        head = bytes([0x80 | opcode])
        if size < 126:
            head += bytes([0x80 | size])
        else:
            head += bytes([0x80 | 126]) + struct.pack("!H", size)
        # A zero mask is a valid mask and leaves the payload as is.
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer + data
        if not self.upgraded:
            head, sep, buffer = buffer.partition(b"\r\n\r\n")
            if not sep:
                self.buffer = head
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.joined.set_exception(ConnectionError(head[:100].decode(errors="replace")))
                return
            self.upgraded = True
            join = {"type": "join", "ref": 1, "topic": TOPIC}
            self.send(0x1, json.dumps(join).encode())
        offset = 0
        end = len(buffer)
        while end - offset >= 2:
            opcode = buffer[offset] & 0x0F
            size = buffer[offset + 1] & 0x7F
            start = offset + 2
            if size == 126:
                if end - start < 2:
                    break
                (size,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif size == 127:
                if end - start < 8:
                    break
                (size,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            if end - start < size:
                break
            offset = start + size
            if opcode == 0x1:
                if self.joined.done():
                    self.arrivals.append(now)
                    self.current.arrived()
                else:
                    self.joined.set_result(None)
            elif opcode == 0x9:
                self.send(0xA, buffer[start:offset])
        self.buffer = buffer[offset:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(f"closed before joining: {exc}"))


@dataclass
class Result:
    clients: int
    rounds: int
    payload_bytes: int
    p50_ms: float
    p99_ms: float
    last_client_ms: float
    rss_before_mib: float
    rss_after_mib: float
    kib_per_connection: float
    server_cpu_ms_per_event: float
    last_client_each_ms: list[float]
    app: str
    ws: str
    pinned: bool
    python: str


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(args: argparse.Namespace, server_pid: int, port: int) -> Result:
    loop = asyncio.get_running_loop()
    current = Round()
    subscribers: list[Subscriber] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        await http.post("/publish")  # warm the hub and the handler
        rss_before = rss_kib(server_pid)
        started = time.monotonic()
        for first in range(0, args.clients, args.batch):
            batch = []
            for _ in range(first, min(args.clients, first + args.batch)):
                joined: asyncio.Future[None] = loop.create_future()
                _, protocol = await loop.create_connection(
                    lambda joined=joined: Subscriber(
                        f"127.0.0.1:{port}", "/_tidal/socket", current, joined
                    ),
                    "127.0.0.1",
                    port,
                )
                subscribers.append(protocol)
                batch.append(joined)
            await asyncio.wait_for(asyncio.gather(*batch), 60)
        connect_seconds = time.monotonic() - started
        assert (await http.get("/count")).json()["sockets"] == args.clients
        await asyncio.sleep(1.0)
        rss_after = rss_kib(server_pid)
        print(
            f"  {args.clients} subscribers joined in {connect_seconds:.1f}s; "
            f"server RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB",
            flush=True,
        )
        latencies: list[float] = []
        last: list[float] = []
        cpu = 0.0
        for number in range(args.warmup + args.rounds):
            cpu_before = cpu_seconds(server_pid)
            current.expected = args.clients
            current.received = 0
            current.done.clear()
            sent = time.monotonic()
            await http.post("/publish", params={"size": args.payload, "seq": number})
            await asyncio.wait_for(current.done.wait(), 60)
            if number >= args.warmup:
                cpu += cpu_seconds(server_pid) - cpu_before
                round_latencies = [(s.arrivals[number] - sent) * 1000 for s in subscribers]
                latencies.extend(round_latencies)
                last.append(max(round_latencies))
            await asyncio.sleep(args.pause)
    for subscriber in subscribers:
        if subscriber.transport is not None:
            subscriber.transport.close()
    return Result(
        clients=args.clients,
        rounds=args.rounds,
        payload_bytes=args.payload,
        p50_ms=round(percentile(latencies, 0.50), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        last_client_ms=round(statistics.median(last), 2),
        rss_before_mib=round(rss_before / 1024, 1),
        rss_after_mib=round(rss_after / 1024, 1),
        kib_per_connection=round((rss_after - rss_before) / args.clients, 1),
        server_cpu_ms_per_event=round(cpu * 1000 / args.rounds, 1),
        last_client_each_ms=[round(x, 1) for x in last],
        app=args.app,
        ws=args.ws,
        pinned=args.pinned,
        python=sys.version.split()[0],
    )


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        args.app,
        "--port",
        str(port),
        "--ws",
        args.ws,
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
        "--backlog",
        "4096",
    ]
    if args.pinned:
        command = ["taskset", "-c", "0", *command]  # taskset execs: the pid is uvicorn's
    process = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/count", timeout=0.5)
            return process
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start") from None
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_fanout", description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--payload", type=int, default=64, help="padding bytes per event")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between events")
    parser.add_argument("--batch", type=int, default=200, help="handshakes in flight")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn --ws protocol")
    parser.add_argument(
        "--app",
        default="bench.peers.tidal_ws:app",
        help="the server (bench.peers.starlette_ws:app: plain Starlette, for comparison)",
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    args.pinned = len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset") is not None
    server = start_server(args, args.port)
    try:
        if args.pinned:
            os.sched_setaffinity(0, {1})
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover
            runner = asyncio.run
        print(f"ws fan-out: {args.clients} clients, {args.rounds} events", flush=True)
        result = runner(run(args, server.pid, args.port))
    finally:
        server.terminate()
        server.wait(timeout=30)
    for key, value in asdict(result).items():
        print(f"  {key:20} {value}")
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
