"""Start a peer under a server as a subprocess, wait for it, measure its memory.

Peers run in their own process group so stopping them also stops any worker
processes the server forked (granian always forks one). Memory comes straight
from ``/proc`` because psutil is not a dependency.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent


def _uvicorn(app: str, port: int) -> list[str]:
    # WebSockets on the sans-I/O websockets protocol, as `tidal run` serves them.
    return [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
        "--loop", "uvloop", "--http", "httptools", "--ws", "websockets-sansio",
        "--workers", "1",
    ]  # fmt: skip


def _granian(app: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "asgi",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--runtime-threads", "1", "--http", "1",
        "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
        app,
    ]  # fmt: skip


def _gunicorn(app: str, port: int) -> list[str]:
    # One sync worker: Django's classic deployment, one request at a time per process.
    return [
        sys.executable, "-m", "gunicorn", app,
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync",
        "--log-level", "warning",
    ]  # fmt: skip


def _daphne(app: str, port: int) -> list[str]:
    # Django Channels' own server; verbosity 0 turns its access log off, as for uvicorn.
    return [
        sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", app,
    ]  # fmt: skip


def _node(app: str, port: int) -> list[str]:
    # ``app`` is a script under bench/node/ using the packages installed there by npm.
    return ["node", app, str(port)]


SERVERS: dict[str, Callable[[str, int], list[str]]] = {
    "uvicorn": _uvicorn,
    "granian": _granian,
    "gunicorn": _gunicorn,
    "daphne": _daphne,
    "node": _node,
}
"""Server name -> argv builder taking (app, port)."""


class ServerError(RuntimeError):
    """The server could not be started or died; the message carries its log tail."""


def free_port() -> int:
    """A port that was free a moment ago (the bind race is acceptable here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children_map() -> dict[int, list[int]]:
    """ppid -> pids, from a scan of /proc (this kernel lacks task/*/children)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces/parens; fields resume after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that exist right now."""
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def read_memory_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of one process in KiB, or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    if "VmRSS" not in values:
        return None  # zombie or kernel thread
    return values["VmRSS"], values.get("VmHWM", values["VmRSS"])


class MemorySampler:
    """Tracks the peak memory of a process tree while a benchmark runs.

    ``peak_rss_kib`` sums each process's own high-water mark (VmHWM), which is
    exact for a single-process server and an upper bound for a forked tree.
    ``peak_tree_rss_kib`` is the largest simultaneous VmRSS sum actually
    sampled, a lower bound; both go into results.json.
    """

    def __init__(self, pid: int, interval_s: float = 0.25) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.hwm_kib: dict[int, int] = {}
        self.peak_tree_rss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)

    def sample(self) -> None:
        total = 0
        for pid in process_tree(self.pid):
            memory = read_memory_kib(pid)
            if memory is None:
                continue
            rss, hwm = memory
            total += rss
            self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), hwm)
        self.peak_tree_rss_kib = max(self.peak_tree_rss_kib, total)

    @property
    def peak_rss_kib(self) -> int:
        return sum(self.hwm_kib.values())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()


class ServerProcess:
    """A peer app served by ``server`` on a free port; use as a context manager."""

    def __init__(
        self,
        app: str,
        server: str,
        *,
        cpu: int | None = None,
        startup_timeout_s: float = 30.0,
        cwd: Path = REPO_ROOT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if server not in SERVERS:
            raise ServerError(f"unknown server {server!r}; known: {', '.join(SERVERS)}")
        self.app = app
        self.server = server
        self.cpu = cpu
        self.startup_timeout_s = startup_timeout_s
        self.cwd = cwd
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        pin = [] if cpu is None else ["taskset", "-c", str(cpu)]
        # taskset execs the server, so the pid we hold is the server's own.
        self.command = pin + SERVERS[server](app, self.port)
        self.startup_s: float | None = None
        self.memory: MemorySampler | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def start(self) -> None:
        """Start the server and block until it answers HTTP (any status)."""
        started = time.perf_counter()
        try:
            self._proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerError(f"could not start {self.command[0]}: {exc}") from exc
        deadline = started + self.startup_timeout_s
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                if self._proc.poll() is not None:
                    raise ServerError(
                        f"server exited with code {self._proc.returncode} during startup:\n"
                        + self.log_tail()
                    )
                try:
                    client.get(self.base_url + "/")
                    break
                except httpx.HTTPError:
                    if time.perf_counter() > deadline:
                        raise ServerError(
                            f"server did not answer within {self.startup_timeout_s:.0f}s:\n"
                            + self.log_tail()
                        ) from None
                    time.sleep(0.05)
        self.startup_s = time.perf_counter() - started
        self.memory = MemorySampler(self._proc.pid)
        self.memory.start()

    def log_tail(self, lines: int = 20) -> str:
        """Last lines of the server's combined stdout/stderr."""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    @property
    def pid(self) -> int | None:
        """The server's process id (its workers are its descendants), once started."""
        return None if self._proc is None else self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after 10 s."""
        if self._stopped:
            return
        self._stopped = True
        if self.memory is not None:
            self.memory.stop()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._signal_group(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._signal_group(signal.SIGKILL)
                    self._proc.wait()
            # Workers can outlive a parent that died abruptly; they share its group.
            self._signal_group(signal.SIGKILL)
        self._log.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def __enter__(self) -> ServerProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
