"""Machine and software facts recorded next to every result.

Numbers from different machines or versions are not comparable, so each
results file says exactly what produced it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "tidal", "starlette", "uvicorn", "uvloop", "httptools", "granian", "msgspec", "httpx",
    "asyncpg", "sqlalchemy", "jinja2", "fastapi", "pydantic", "django", "gunicorn", "psycopg",
)  # fmt: skip
NODE_DIR = Path(__file__).resolve().parent / "node"


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return None


def memory_total_kib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def wrk_version() -> str | None:
    """First line of ``wrk -v`` (it exits 1 after printing usage, so ignore the code)."""
    try:
        proc = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    lines = (proc.stdout or proc.stderr).splitlines()
    return lines[0].strip() if lines else None


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_revision(repo: Path) -> str | None:
    """HEAD, suffixed with ``-dirty`` when the tree has changes (results may not match HEAD)."""
    head = _git(repo, "rev-parse", "HEAD")
    if not head:
        return None
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return head + "-dirty" if status else head


def _first_line(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.strip().splitlines()
    return lines[0].strip() if proc.returncode == 0 and lines else None


def node_packages() -> dict[str, str]:
    """Versions of the Node peers' frameworks as installed under bench/node/."""
    versions: dict[str, str] = {}
    for name in ("express", "fastify", "pg"):
        try:
            manifest = json.loads((NODE_DIR / "node_modules" / name / "package.json").read_text())
        except (OSError, ValueError):
            continue
        versions[name] = str(manifest.get("version"))
    return versions


def postgresql_version() -> str | None:
    try:
        import psycopg

        from bench.pgdata import database_url

        with psycopg.connect(database_url(), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception:
        return None
    return None if row is None else str(row[0])


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def machine_info(repo: Path) -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "memory_total_kib": memory_total_kib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "wrk": wrk_version(),
        "node": _first_line(["node", "--version"]),
        "node_packages": node_packages(),
        "postgresql": postgresql_version(),
        "git_revision": git_revision(repo),
    }
