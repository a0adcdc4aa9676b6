"""Real uvicorn processes for the realtime tests, and a raw WebSocket client that can send
what a well-behaved library would refuse to (invalid UTF-8, oversize frames)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
WS_IMPL = "websockets-sansio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``tests.realtime.serverapp:app`` (or ``target``) under uvicorn in a subprocess.

    Args:
        log: file receiving the server's output.
        env: TIDAL_* settings for the app.
        port: fixed port (to restart on the same one), default a free one.
        ws_max_size: uvicorn's frame size limit.
    """

    def __init__(
        self,
        log: Path,
        env: dict[str, str] | None = None,
        *,
        port: int | None = None,
        ws_max_size: int = 1 << 20,
        target: str = "tests.realtime.serverapp:app",
    ) -> None:
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.ws_max_size = ws_max_size
        self.target = target
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.target,
            "--port",
            str(self.port),
            "--ws",
            WS_IMPL,
            "--ws-max-size",
            str(self.ws_max_size),
            "--log-level",
            "info",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "5",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.url + "/stats", timeout=0.5)
                return self
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"uvicorn did not start:\n{self.output()}") from None
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        return self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class RawWebSocket:
    """A minimal client speaking RFC 6455 frames directly."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, port: int, path: str, headers: dict[str, str] | None = None
    ) -> RawWebSocket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        head = bytes([(0x80 if fin else 0) | opcode])
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head += bytes([0x80 | size])
        elif size < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + masked)
        await self.writer.drain()

    async def receive_frame(self) -> tuple[int, bytes]:
        first, second = await asyncio.wait_for(self.reader.readexactly(2), 5)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(size)

    async def close_code(self) -> int:
        """Read frames until the close frame; its status code."""
        while True:
            opcode, payload = await self.receive_frame()
            if opcode == 0x8:
                (code,) = struct.unpack("!H", payload[:2])
                return int(code)

    def close(self) -> None:
        self.writer.close()
