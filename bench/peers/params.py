"""The ``queries`` parameter as TechEmpower defines it, shared by the Python peers."""

from __future__ import annotations


def queries_count(raw: str | None) -> int:
    """``?queries=N``: not an integer (or missing) means 1; clamped to 1..500."""
    try:
        value = int(raw) if raw else 1
    except ValueError:
        return 1
    return min(max(value, 1), 500)
