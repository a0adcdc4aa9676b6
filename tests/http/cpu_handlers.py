"""Module-level handlers for the cpu_bound tests (worker processes import them by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def spin_until(flag: str) -> dict[str, int]:
    """Burn CPU until ``flag`` exists (or 20 s pass), like a heavy computation would."""
    deadline = time.monotonic() + 20
    rounds = 0
    while not Path(flag).exists() and time.monotonic() < deadline:
        rounds += sum(i * i for i in range(10_000)) % 7 + 1
    return {"pid": os.getpid(), "released": int(Path(flag).exists())}


def fib(n: int) -> dict[str, int]:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return {"n": n, "fib": a}


def fail(n: int) -> None:
    from tidal.http.errors import NotFound

    raise NotFound(f"nothing at {n}")
