"""What a WebSocket peer must get right before (and while) it is timed.

Every subscriber must receive every broadcast exactly once, in publishing order, with
the payload the publisher asked for. A fast broadcast that loses or reorders events is
worthless, so a peer that does either is reported invalid, never timed: the same rule as
the HTTP workloads' response verification (``bench/verify.py``). Pure functions over what
the load client recorded, so they are tested without servers.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_EXAMPLES = 3  # problems listed per kind; the rest are counted


def sequence_problem(received: Sequence[int], expected: Sequence[int]) -> tuple[str, str] | None:
    """``(kind, detail)`` of what is wrong with one subscriber's events, or None when it
    got exactly ``expected``. Kinds: ``duplicate``, ``missed``, ``unknown``, ``reordered``."""
    if list(received) == list(expected):
        return None
    seen: set[int] = set()
    for seq in received:
        if seq in seen:
            return "duplicate", f"received event {seq} twice"
        seen.add(seq)
    missing = sorted(set(expected) - seen)
    if missing:
        return "missed", f"missed {len(missing)} of {len(expected)} events (first: {missing[0]})"
    extra = sorted(seen - set(expected))
    if extra:
        return "unknown", f"received {len(extra)} events never published (first: {extra[0]})"
    position, got, due = next(
        (i, a, b) for i, (a, b) in enumerate(zip(received, expected, strict=True)) if a != b
    )
    return "reordered", f"out of order at position {position}: event {got} where {due} was due"


def delivery_problems(
    received: Sequence[Sequence[int]], expected: Sequence[int], *, label: str = "subscriber"
) -> list[str]:
    """One line per kind of fault over all subscribers (``received[i]`` is what subscriber
    ``i`` got, in arrival order), with a few examples and the count of subscribers hit."""
    by_kind: dict[str, list[str]] = {}
    for index, seqs in enumerate(received):
        problem = sequence_problem(seqs, expected)
        if problem is not None:
            kind, detail = problem
            by_kind.setdefault(kind, []).append(f"{label} {index} {detail}")
    out = []
    for examples in by_kind.values():
        shown = "; ".join(examples[:MAX_EXAMPLES])
        more = len(examples) - MAX_EXAMPLES
        out.append(shown + (f"; and {more} more {label}s" if more > 0 else ""))
    return out


def summarize(problems: Sequence[str], limit: int = 5) -> list[str]:
    """At most ``limit`` distinct problems, then a count of the rest (one bad peer can
    produce a line per connection)."""
    distinct = list(dict.fromkeys(problems))
    if len(distinct) <= limit:
        return distinct
    return [*distinct[:limit], f"... and {len(distinct) - limit} more problems"]


__all__ = ["delivery_problems", "sequence_problem", "summarize"]
