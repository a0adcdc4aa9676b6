"""The CPU work behind every peer's ``/cpu`` endpoint: pure interpreted computation.

Counting primes below ``LIMIT`` by trial division holds the GIL the whole time (no C
call releases it), which is what a Python handler that does real work looks like, and
it gives the verifier a checkable answer (``primes`` must be pi(limit)). ``LIMIT`` makes
one call take about 20 ms of CPython on the benchmark machine; the Node peers run the
same algorithm with their own limit sized to take about as long in V8
(``bench/node/common.js``). The verifier records how long one request really takes.
"""

from __future__ import annotations

LIMIT = 10_000


def count_primes(limit: int = LIMIT) -> int:
    """How many primes are below ``limit`` (trial division, deliberately naive)."""
    count = 0
    for n in range(2, limit):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


def cpu_result() -> dict[str, int]:
    """The ``/cpu`` response body every Python peer returns."""
    return {"limit": LIMIT, "primes": count_primes(LIMIT)}
