"""Machine and software facts recorded next to every result.

Numbers from different machines or versions are not comparable, so each
results file says exactly what produced it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("tidal", "starlette", "uvicorn", "uvloop", "httptools", "granian", "msgspec", "httpx")


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
        "git_revision": git_revision(repo),
    }
