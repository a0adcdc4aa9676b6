"""The WebSocket load client: subscribers on one topic, a publisher, and the clock.

    python -m bench.ws_client fanout --base-url http://127.0.0.1:8000 --path /ws --clients 100
    python -m bench.ws_client idle --base-url ... --connections 5000 --server-pid 1234

Runs as its own process, pinned to the load CPU like wrk, and prints one JSON object
(``Outcome``). Subscribers are a minimal RFC 6455 client on asyncio protocols (uvloop): a
frame costs one ``data_received`` call, a header parse and one msgspec decode, about 8 µs
of client CPU per delivered message, where the ``websockets`` library costs 27-35 µs and
would be slower than the servers it measures (bench/README.md has the numbers). Every run
records the client's own CPU share, so a saturated client shows in the results.

Protocol, the same shape for every peer: each subscriber opens the peer's socket and
joins topic ``bench:all`` (``Dialect``); the publisher sends ``POST /publish?seq=&sent=
&size=`` and the peer broadcasts ``{"seq", "sent", "pad": "x" * size}`` to the topic.
``sent`` is the publisher's CLOCK_MONOTONIC just before the request, echoed back, so a
delivery's latency is its arrival time minus ``sent`` (same host, same clock). Broadcasts
go one after another: the next is published once every subscriber has the previous one,
so no server can buffer without bound and latency means time to deliver, not queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx
import msgspec

from bench.servers import process_tree, read_memory_kib
from bench.ws_verify import delivery_problems, summarize

TOPIC = "bench:all"
JOIN_TIMEOUT_S = 60.0
VERIFY_SIZES = (0, 125, 126, 70_000)  # 7-bit, 16-bit and 64-bit frame lengths
MIN_TIMED = 3  # timed broadcasts even past the time budget


class Tick(msgspec.Struct):
    """One broadcast's data as every peer sends it."""

    seq: int
    sent: float
    pad: str


class _JsonFrame(msgspec.Struct):
    type: str = ""
    status: str = ""
    event: str = ""
    data: Tick | None = None


_decode_json_frame = msgspec.json.Decoder(_JsonFrame).decode
_decode_sio_event = msgspec.json.Decoder(tuple[str, Tick]).decode
_FRAME_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, ValueError)


class Dialect(Protocol):
    """How a family of peers says "join the topic" and "here is an event"."""

    def upgraded(self, conn: Connection) -> None:
        """The handshake succeeded: send what the client says first."""

    def text(self, conn: Connection, payload: bytes) -> Tick | None:
        """Handle one text message; the broadcast it carries, if any (raise if invalid)."""


class JsonDialect:
    """Tidal's channel protocol, which the Node ``ws``, Starlette and Channels peers speak
    too: ``{"type": "join", ...}`` answered by ``{"type": "reply", "status": "ok"}``, then
    ``{"type": "event", "data": ...}`` frames."""

    JOIN = msgspec.json.encode({"type": "join", "ref": 1, "topic": TOPIC})

    def upgraded(self, conn: Connection) -> None:
        conn.send_text(self.JOIN)

    def text(self, conn: Connection, payload: bytes) -> Tick | None:
        frame = _decode_json_frame(payload)
        if frame.type == "event" and frame.data is not None:
            return frame.data
        if frame.type == "reply" and not conn.joined.done():
            if frame.status == "ok":
                conn.joined.set_result(None)
            else:
                conn.joined.set_exception(ConnectionError(f"join refused: {payload[:200]!r}"))
            return None
        raise ValueError("unexpected frame")


class SocketIoDialect:
    """Socket.IO 4 over its WebSocket transport (Engine.IO 4 packets, one per message):
    open ``0{...}`` -> connect ``40`` -> ``40{sid}``; join with an acknowledged event
    ``420["join", topic]`` -> ``430[...]``; events ``42["tick", data]``; ping ``2`` -> ``3``."""

    JOIN = b'420["join","' + TOPIC.encode() + b'"]'

    def upgraded(self, conn: Connection) -> None:
        return None  # the server speaks first

    def text(self, conn: Connection, payload: bytes) -> Tick | None:
        if payload[:2] == b"42":
            name, tick = _decode_sio_event(payload[2:])
            if name != "tick":
                raise ValueError(f"unexpected event {name!r}")
            return tick
        if payload == b"2":
            conn.send_text(b"3")
        elif payload[:3] == b"430" and not conn.joined.done():
            conn.joined.set_result(None)
        elif payload[:2] == b"40":
            conn.send_text(self.JOIN)
        elif payload[:1] == b"0":
            conn.send_text(b"40")
        else:
            raise ValueError("unexpected packet")
        return None


DIALECTS: dict[str, Callable[[], Dialect]] = {"json": JsonDialect, "socketio": SocketIoDialect}


class Connection(asyncio.Protocol):
    """One subscriber: handshake, join, then record every event's sequence number."""

    def __init__(self, client: Client, index: int) -> None:
        self.client = client
        self.index = index
        self.joined: asyncio.Future[None] = client.loop.create_future()
        self.seqs: list[int] = []
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._upgraded = False

    @property
    def ok(self) -> bool:
        """Joined, and not failed since."""
        j = self.joined
        return j.done() and not j.cancelled() and j.exception() is None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is not a subclass)
        c = self.client
        key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample nonce; the accept is not checked
        self.transport.write(
            (
                f"GET {c.path} HTTP/1.1\r\nHost: {c.host}\r\nOrigin: {c.origin}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send_text(self, payload: bytes, opcode: int = 0x1) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        else:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        # A zero mask is a valid mask and leaves the payload as it is.
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self._buffer + data if self._buffer else data
        if not self._upgraded:
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if not sep:
                self._buffer = buffer
                return
            if not head.startswith(b"HTTP/1.1 101"):
                status = head.split(b"\r\n", 1)[0].decode(errors="replace")
                self._fail(f"handshake answered {status!r}")
                return
            self._upgraded = True
            self.client.dialect.upgraded(self)
            buffer = rest
        offset, end = 0, len(buffer)
        while end - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            size = second & 0x7F
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
            if second & 0x80:
                self._fail("the server masked a frame")
                return
            if end - start < size:
                break
            offset = start + size
            self._frame(first & 0x80, first & 0x0F, buffer[start:offset], now)
        self._buffer = buffer[offset:]

    def _frame(self, fin: int, opcode: int, payload: bytes, now: float) -> None:
        if opcode in (0x0, 0x1, 0x2):
            if not fin:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join([*self._fragments, payload])
                self._fragments = []
            self._message(payload, now)
        elif opcode == 0x9:
            self.send_text(payload, opcode=0xA)
        elif opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self._fail(f"closed by the server (code {code}, {payload[2:80]!r})")

    def _message(self, payload: bytes, now: float) -> None:
        try:
            tick = self.client.dialect.text(self, payload)
        except _FRAME_ERRORS as exc:
            self.client.problem(f"unexpected frame {payload[:80]!r} ({exc})")
            return
        if tick is not None:
            self.seqs.append(tick.seq)
            self.client.delivered(tick, now)

    def _fail(self, reason: str) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(reason))
        elif self.ok and not self.client.closing:
            self.client.problem(f"connection {self.index}: {reason}")
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_exception(ConnectionError(f"closed before joining ({exc})"))
        elif self.ok and not self.client.closing:
            self.client.problem(f"connection {self.index} closed by the server ({exc})")


class Client:
    """Subscribers of one peer, the publisher's record, and what arrived.

    ``published[seq]`` is ``(sent, size)``; each delivery is checked against it on
    arrival (echoed timestamp, padding length), its latency recorded by sequence number,
    and the subscriber's sequence kept for the order check at the end.
    """

    def __init__(self, base_url: str, path: str, dialect: Dialect) -> None:
        url = urlsplit(base_url)
        assert url.hostname is not None
        assert url.port is not None
        self.address = (url.hostname, url.port)
        self.host = f"{url.hostname}:{url.port}"
        self.origin = f"http://{self.host}"  # a browser's same-origin handshake
        self.base_url = base_url
        self.path = path
        self.dialect = dialect
        self.loop = asyncio.get_running_loop()
        self.connections: list[Connection] = []
        self.published: list[tuple[float, int]] = []
        self.latencies: list[list[float]] = []
        self.counts: list[int] = []
        self.expect = 0  # subscribers every event must reach
        self.problems: list[str] = []
        self.closing = False
        self._round: tuple[int, asyncio.Event] | None = None

    def problem(self, text: str) -> None:
        if len(self.problems) < 1000:
            self.problems.append(text)

    def delivered(self, tick: Tick, now: float) -> None:
        seq = tick.seq
        if not 0 <= seq < len(self.published):
            return  # reported by the sequence check
        sent, size = self.published[seq]
        if tick.sent != sent or len(tick.pad) != size:
            self.problem(
                f"event {seq} arrived with sent={tick.sent!r} and {len(tick.pad)} bytes of "
                f"padding, published with sent={sent!r} and {size}"
            )
            return
        self.latencies[seq].append(now - sent)
        count = self.counts[seq] = self.counts[seq] + 1
        current = self._round
        if current is not None and current[0] == seq and count >= self.expect:
            current[1].set()

    async def open(self, count: int, *, inflight: int = 100) -> list[float]:
        """Open ``count`` subscribers, ``inflight`` handshakes at a time; the seconds each
        took to connect and join. Failures become problems."""
        gate = asyncio.Semaphore(inflight)

        async def one(index: int) -> float:
            async with gate:
                started = time.monotonic()
                conn = Connection(self, index)
                self.connections.append(conn)
                await self.loop.create_connection(lambda: conn, *self.address)
                await asyncio.wait_for(conn.joined, JOIN_TIMEOUT_S)
                return time.monotonic() - started

        first = len(self.connections)
        outcomes = await asyncio.gather(
            *(one(first + i) for i in range(count)), return_exceptions=True
        )
        times = [t for t in outcomes if isinstance(t, float)]
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            self.problem(f"{len(failed)} of {count} subscribers could not join: {failed[0]!r}")
        self.expect += len(times)
        return times

    async def broadcast(self, http: httpx.AsyncClient, size: int, timeout_s: float) -> bool:
        """Publish one event and wait until every subscriber has it; False (a problem
        recorded) when that takes longer than ``timeout_s``."""
        seq = len(self.published)
        done = asyncio.Event()
        self._round = (seq, done)
        self.counts.append(0)
        self.latencies.append([])
        sent = time.monotonic()
        self.published.append((sent, size))
        try:
            response = await http.post(
                "/publish",
                params={"seq": seq, "sent": repr(sent), "size": size},
                timeout=timeout_s,
            )
        except httpx.TimeoutException:
            self.problem(
                f"too slow: POST /publish of event {seq} got no answer within {timeout_s:g} s "
                f"({self.counts[seq]} of {self.expect} subscribers had the event)"
            )
            return False
        except httpx.HTTPError as exc:
            self.problem(f"POST /publish failed: {exc!r}")
            return False
        if response.status_code != 200:
            self.problem(f"POST /publish answered {response.status_code}: {response.text[:200]}")
            return False
        if self.counts[seq] < self.expect:
            try:
                await asyncio.wait_for(done.wait(), timeout_s)
            except TimeoutError:
                self.problem(
                    f"event {seq} reached {self.counts[seq]} of {self.expect} subscribers "
                    f"within {timeout_s:g} s"
                )
                return False
        return True

    def check_sequences(self) -> None:
        """Every joined subscriber got every published event once, in order."""
        joined = [c for c in self.connections if c.ok]
        self.problems += delivery_problems(
            [c.seqs for c in joined], range(len(self.published)), label="subscriber"
        )

    def close(self) -> None:
        self.closing = True
        for conn in self.connections:
            if conn.transport is not None:
                conn.transport.abort()


@dataclass
class Outcome:
    """What one client run measured; printed as JSON. Latencies in ms, memory in KiB."""

    mode: str
    connections: int = 0
    messages: int = 0  # timed broadcasts
    payload_bytes: int = 0
    deliveries: int = 0
    duration_s: float = 0.0
    rate: float = 0.0  # deliveries/s (fanout) or connections/s (idle)
    percentiles_ms: dict[str, float] = field(default_factory=dict)
    avg_ms: float | None = None
    max_ms: float | None = None
    last_client_ms: float | None = None  # median over broadcasts of the slowest delivery
    connect_s: float = 0.0
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0
    client_cpu_share: float = 0.0  # of one core, while timed: near 1.0 means saturated
    baseline_rss_kib: int | None = None
    peak_rss_kib: int | None = None
    kib_per_connection: float | None = None
    problems: list[str] = field(default_factory=list)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Nearest-rank p50/p75/p90/p99 of seconds, in ms."""
    if not values:
        return {}
    ordered = sorted(values)
    last = len(ordered) - 1
    return {
        str(p): round(ordered[min(last, int(p / 100 * len(ordered)))] * 1000, 3)
        for p in (50, 75, 90, 99)
    }


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of processes so far (gone ones count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants now (a server may fork workers)."""
    return sum(m[0] for p in process_tree(pid) if (m := read_memory_kib(p)) is not None)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def fanout(
    client: Client,
    http: httpx.AsyncClient,
    *,
    clients: int,
    messages: int,
    warmup: int,
    payload: int,
    round_timeout_s: float,
    budget_s: float,
    server_pid: int | None,
) -> Outcome:
    """N subscribers, ``warmup`` untimed broadcasts, then ``messages`` timed ones, or as
    many as fit in ``budget_s`` (at least ``MIN_TIMED``)."""
    out = Outcome("fanout", connections=clients, messages=messages, payload_bytes=payload)
    started = time.monotonic()
    await client.open(clients)
    out.connect_s = round(time.monotonic() - started, 3)
    if client.problems:
        return out
    ok = True
    for _ in range(warmup):
        ok = ok and await client.broadcast(http, payload, round_timeout_s)
    first = len(client.published)
    pids = process_tree(server_pid) if server_pid else []
    cpu_before, own_before = cpu_seconds(pids), _own_cpu()
    started = time.monotonic()
    for number in range(messages):
        if number >= MIN_TIMED and time.monotonic() - started > budget_s:
            break  # a slow peer: fewer events, the same rate
        ok = ok and await client.broadcast(http, payload, round_timeout_s)
    out.messages = len(client.published) - first
    out.duration_s = round(time.monotonic() - started, 4)
    if pids:
        out.server_cpu_s = round(cpu_seconds(pids) - cpu_before, 3)
    out.client_cpu_s = round(_own_cpu() - own_before, 3)
    out.client_cpu_share = round(out.client_cpu_s / max(out.duration_s, 1e-9), 3)
    await asyncio.sleep(0.2)  # late duplicates or strays show up in the sequence check
    client.check_sequences()
    timed = [x for seq in range(first, len(client.latencies)) for x in client.latencies[seq]]
    out.deliveries = len(timed)
    out.rate = round(out.deliveries / max(out.duration_s, 1e-9), 1)
    out.percentiles_ms = percentiles(timed)
    if timed:
        out.avg_ms = round(statistics.fmean(timed) * 1000, 3)
        out.max_ms = round(max(timed) * 1000, 3)
        slowest = [max(client.latencies[s]) for s in range(first, len(client.latencies))]
        out.last_client_ms = round(statistics.median(slowest) * 1000, 3)
    return out


async def idle(
    client: Client,
    http: httpx.AsyncClient,
    *,
    connections: int,
    hold_s: float,
    round_timeout_s: float,
    server_pid: int,
) -> Outcome:
    """K subscribers that then say nothing; the server's RSS growth per connection. One
    broadcast at the end proves every idle connection is still open and subscribed."""
    out = Outcome("idle", connections=connections)
    await asyncio.sleep(0.3)  # let the verification's closed sockets be collected
    baseline = tree_rss_kib(server_pid)
    peak = baseline
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss_kib(server_pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)

    sampler = asyncio.create_task(sample())
    started = time.monotonic()
    own_before = _own_cpu()
    times = await client.open(connections)
    out.connect_s = out.duration_s = round(time.monotonic() - started, 3)
    out.client_cpu_s = round(_own_cpu() - own_before, 3)
    out.client_cpu_share = round(out.client_cpu_s / max(out.duration_s, 1e-9), 3)
    await asyncio.sleep(hold_s)
    stop.set()
    await sampler
    peak = max(peak, tree_rss_kib(server_pid))
    out.baseline_rss_kib, out.peak_rss_kib = baseline, peak
    out.kib_per_connection = round((peak - baseline) / max(len(times), 1), 2)
    out.deliveries = len(times)
    out.rate = round(len(times) / max(out.duration_s, 1e-9), 1)
    out.percentiles_ms = percentiles(times)
    if times:
        out.avg_ms = round(statistics.fmean(times) * 1000, 3)
        out.max_ms = round(max(times) * 1000, 3)
    if not client.problems:
        await client.broadcast(http, 16, round_timeout_s)
        await asyncio.sleep(0.2)
        client.check_sequences()
    return out


async def verify(
    client: Client, http: httpx.AsyncClient, *, clients: int, round_timeout_s: float
) -> Outcome:
    """A few subscribers, events of every frame-length class: all arrive, once, in order."""
    out = Outcome("verify", connections=clients, messages=len(VERIFY_SIZES))
    await client.open(clients, inflight=clients)
    if client.problems:
        return out
    for size in VERIFY_SIZES:
        if not await client.broadcast(http, size, round_timeout_s):
            break
    await asyncio.sleep(0.2)
    client.check_sequences()
    out.deliveries = sum(len(c.seqs) for c in client.connections)
    return out


async def run(args: argparse.Namespace) -> Outcome:
    """Verify (unless ``--verify 0``), then run ``args.mode``; problems end the run."""
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(
        base_url=args.base_url, timeout=60.0, limits=limits, trust_env=False
    ) as http:
        if args.verify > 0 and args.mode != "verify":
            checker = Client(args.base_url, args.path, DIALECTS[args.dialect]())
            try:
                checked = await verify(
                    checker, http, clients=args.verify, round_timeout_s=args.round_timeout
                )
            finally:
                checker.close()
            if checker.problems:
                checked.problems = [f"verification: {p}" for p in summarize(checker.problems)]
                return checked
        client = Client(args.base_url, args.path, DIALECTS[args.dialect]())
        try:
            if args.mode == "fanout":
                out = await fanout(
                    client,
                    http,
                    clients=args.clients,
                    messages=args.messages,
                    warmup=args.warmup,
                    payload=args.payload,
                    round_timeout_s=args.round_timeout,
                    budget_s=args.budget,
                    server_pid=args.server_pid,
                )
            elif args.mode == "idle":
                out = await idle(
                    client,
                    http,
                    connections=args.clients,
                    hold_s=args.hold,
                    round_timeout_s=args.round_timeout,
                    server_pid=args.server_pid,
                )
            else:
                out = await verify(
                    client, http, clients=args.clients, round_timeout_s=args.round_timeout
                )
        finally:
            client.close()
    out.problems = summarize(client.problems)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_client", description=__doc__)
    parser.add_argument("mode", choices=("fanout", "idle", "verify"))
    parser.add_argument("--base-url", required=True, help="the peer, e.g. http://127.0.0.1:8000")
    parser.add_argument("--path", required=True, help="the socket's path (and query)")
    parser.add_argument("--dialect", choices=list(DIALECTS), default="json")
    parser.add_argument("--clients", type=int, default=100, help="subscribers / connections")
    parser.add_argument("--messages", type=int, default=20, help="timed broadcasts")
    parser.add_argument("--warmup", type=int, default=3, help="untimed broadcasts first")
    parser.add_argument("--payload", type=int, default=64, help="padding bytes per event")
    parser.add_argument("--budget", type=float, default=60.0, help="fanout: timed seconds")
    parser.add_argument("--hold", type=float, default=2.0, help="idle: seconds to hold")
    parser.add_argument("--round-timeout", type=float, default=60.0, help="seconds per event")
    parser.add_argument("--server-pid", type=int, help="for CPU time and memory (idle: needed)")
    parser.add_argument(
        "--verify", type=int, default=4, help="subscribers verified first (0: no verification)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.mode == "idle" and args.server_pid is None:
        raise SystemExit("idle needs --server-pid")
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a Tidal dependency
        outcome = asyncio.run(run(args))
    else:
        outcome = uvloop.run(run(args))
    sys.stdout.write(msgspec.json.encode(asdict(outcome)).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
