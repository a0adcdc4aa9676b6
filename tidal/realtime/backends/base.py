"""The pub/sub interface every realtime backend implements, and the rules they share.

A backend does four jobs for the hub of one worker process:

* **publish** an event to a topic: append it to the topic's bounded history under a new id
  and deliver it live to every worker subscribed to the topic, in id order;
* **history**: the events after a given id, or a "gone" answer when some of them were
  already trimmed away (the client must reload instead of resuming);
* **ephemeral** frames (presence diffs, control messages): delivered live, never stored;
* **presence** storage: entries per topic owned by a worker, which expire when that worker
  stops heartbeating (it crashed).

Event ids look like Redis stream ids, ``"<milliseconds>-<sequence>"``; they only grow within
a topic (and across restarts, being time based), compare as ``(ms, seq)`` and ``"0-0"``
means "before the first event". Both backends use the same format and the same resume rule
(``resume_gone``), so an application behaves identically on either.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

ZERO = "0-0"
EventId = tuple[int, int]


def parse_id(value: str) -> EventId:
    """``"17-3"`` -> ``(17, 3)``; raises ``ValueError`` for anything else."""
    ms, sep, seq = value.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        raise ValueError(f"{value!r} is not an event id like '1700000000000-0'.")
    return int(ms), int(seq)


def format_id(key: EventId) -> str:
    return f"{key[0]}-{key[1]}"


def resume_gone(since: EventId, first: tuple[EventId, EventId] | None, last: EventId) -> bool:
    """Whether a client that saw every event up to ``since`` can no longer be caught up.

    Args:
        since: the last event id the client saw (``(0, 0)``: it saw the topic empty).
        first: the oldest event still kept and the id of the event before it (``(0, 0)`` if
            it was the topic's first), or ``None`` when nothing is kept.
        last: the newest event id of the topic, ``(0, 0)`` when there is none.

    The client is caught up exactly when every event after ``since`` is still kept: either
    ``since`` is at or after the oldest kept event, or it is the event just before it. An
    id newer than the topic's last one cannot come from this history (it was reset), so it
    is gone too.
    """
    if since > last:
        return True
    if first is None:
        return since != last
    first_id, before_first = first
    return since < first_id and since != before_first


@dataclass(slots=True)
class History:
    """What ``PubSub.history`` found: the events after the asked id, oldest first, the
    topic's newest id, and whether the asked id was too old to resume from."""

    events: list[tuple[str, bytes]] = field(default_factory=list)
    last_id: str = ZERO
    gone: bool = False


class Listener(Protocol):
    """What a backend delivers to: the worker's hub."""

    async def on_message(self, topic: str, event_id: str | None, payload: bytes) -> None:
        """A live event (``event_id`` set) or an ephemeral frame (``event_id`` None)."""

    async def on_gap(self, topic: str) -> None:
        """Events of ``topic`` were missed (connection lost) and are no longer kept."""


class PubSub(abc.ABC):
    """One worker's connection to the pub/sub layer. Subclasses: ``MemoryPubSub``
    (in-process, the default) and ``RedisPubSub`` (across processes and hosts).

    Args:
        history: events kept per topic (Redis keeps at least this many).
        history_ttl: seconds a topic's history outlives its last event.
        presence_ttl: seconds presence entries outlive a worker that stopped heartbeating.
    """

    worker_id: str
    # Errors meaning "the service is unreachable, retry later" rather than a bug.
    unavailable: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)

    def __init__(self, *, history: int, history_ttl: float, presence_ttl: float) -> None:
        if history < 1:
            raise ValueError("history must keep at least one event per topic.")
        self.history_size = history
        self.history_ttl = history_ttl
        self.presence_ttl = presence_ttl
        self.listener: Listener | None = None

    # -- life ------------------------------------------------------------------------

    @abc.abstractmethod
    async def start(self, listener: Listener) -> None:
        """Connect and start delivering to ``listener``; raise if the service is down."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop delivering, drop this worker's liveness, release connections."""

    # -- events ----------------------------------------------------------------------

    @abc.abstractmethod
    async def publish(self, topic: str, payload: bytes) -> str:
        """Store ``payload`` in ``topic``'s history and deliver it; returns its id."""

    @abc.abstractmethod
    async def publish_ephemeral(self, topic: str, payload: bytes) -> None:
        """Deliver ``payload`` to the topic's subscribers without storing it."""

    @abc.abstractmethod
    async def history(self, topic: str, since: str | None) -> History:
        """Events after ``since`` (None: none, only the newest id)."""

    @abc.abstractmethod
    async def subscribe(self, topic: str) -> None:
        """Deliver ``topic``'s events to this worker from now on; returns once active."""

    @abc.abstractmethod
    async def unsubscribe(self, topic: str) -> None:
        """Stop delivering ``topic`` to this worker."""

    # -- presence --------------------------------------------------------------------

    @abc.abstractmethod
    async def presence_add(self, topic: str, ref: str, entry: bytes) -> None:
        """Record this worker's presence entry ``ref`` in ``topic``."""

    @abc.abstractmethod
    async def presence_remove(self, topic: str, ref: str) -> bytes | None:
        """Remove entry ``ref``; returns it, or None if it was not there."""

    @abc.abstractmethod
    async def presence_entries(self, topic: str) -> dict[str, bytes]:
        """Entries of ``topic`` owned by live workers, by ref."""

    @abc.abstractmethod
    async def heartbeat(self) -> Sequence[tuple[str, str, bytes]]:
        """Mark this worker alive, and remove the entries of workers that stopped
        heartbeating more than ``presence_ttl`` ago; returns the removed
        ``(topic, ref, entry)`` so the caller can announce them as leaves. Each dead
        worker's entries are returned by exactly one live worker."""


__all__ = [
    "ZERO",
    "EventId",
    "History",
    "Listener",
    "PubSub",
    "format_id",
    "parse_id",
    "resume_gone",
]
