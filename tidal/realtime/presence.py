"""Presence: who is in a topic, across workers and hosts, with join/leave diffs.

Each tracked connection is one *entry* under a *key* (usually the user id; one user with
two tabs is one key with two entries) with metadata the application chooses (name, colour,
"typing"). Clients receive the full state once when they join, then diffs::

    {"type": "presence", "topic": "board:7", "state": {"42": [{"ref": "a1.3.1", "name": "Ann"}]}}
    {"type": "presence", "topic": "board:7", "joins": {...}, "leaves": {"42": [{"ref": ...}]}}

Entries are stored in the backend under the worker that owns them. A worker heartbeats every
``presence_ttl / 3`` seconds; when one stops (it crashed), readers ignore its entries at once
after ``presence_ttl`` and one live worker removes them and announces the leaves.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from tidal.realtime import protocol
from tidal.realtime.hub import Hub


class Entry(msgspec.Struct):
    key: str
    meta: dict[str, Any]


_decode_entry = msgspec.json.Decoder(Entry).decode


def _grouped(entries: Iterable[Entry]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry.key, []).append(entry.meta)
    return grouped


def diff_frame(topic: str, joins: Iterable[Entry] = (), leaves: Iterable[Entry] = ()) -> bytes:
    return protocol.encode(
        {"type": "presence", "topic": topic, "joins": _grouped(joins), "leaves": _grouped(leaves)}
    )


def state_frame(topic: str, state: Mapping[str, list[dict[str, Any]]]) -> bytes:
    return protocol.encode({"type": "presence", "topic": topic, "state": state})


class Presence:
    """Presence tracking on top of a hub's backend.

    Args:
        hub: the worker's hub; its backend stores the entries.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._refs = itertools.count(1)
        hub.tick_hooks.append(self.heartbeat)

    def new_ref(self, owner: str) -> str:
        """A ref unique across workers: ``<worker>.<owner>.<n>``."""
        return f"{self.hub.backend.worker_id}.{owner}.{next(self._refs)}"

    async def track(self, topic: str, ref: str, key: str, meta: Mapping[str, Any]) -> None:
        """Add an entry and announce it to everyone on ``topic``."""
        entry = Entry(str(key), {**meta, "ref": ref})
        backend = self.hub.backend
        await backend.presence_add(topic, ref, protocol.encode(entry))
        await backend.publish_ephemeral(topic, diff_frame(topic, joins=[entry]))

    async def update(self, topic: str, ref: str, key: str, meta: Mapping[str, Any]) -> None:
        """Replace an entry's metadata (announced as a leave and a join of the same ref)."""
        backend = self.hub.backend
        old = await backend.presence_remove(topic, ref)
        entry = Entry(str(key), {**meta, "ref": ref})
        await backend.presence_add(topic, ref, protocol.encode(entry))
        leaves = [_decode_entry(old)] if old is not None else []
        await backend.publish_ephemeral(topic, diff_frame(topic, [entry], leaves))

    async def untrack(self, topic: str, ref: str) -> None:
        """Remove an entry and announce its leave."""
        backend = self.hub.backend
        old = await backend.presence_remove(topic, ref)
        if old is not None:
            await backend.publish_ephemeral(topic, diff_frame(topic, leaves=[_decode_entry(old)]))

    async def list(self, topic: str) -> dict[str, list[dict[str, Any]]]:
        """Everyone in ``topic`` now: ``{key: [meta, ...]}`` (each meta has its ``ref``)."""
        entries = await self.hub.backend.presence_entries(topic)
        return _grouped(_decode_entry(raw) for _, raw in sorted(entries.items()))

    async def heartbeat(self) -> None:
        """Keep this worker alive; announce the leaves of entries of dead workers."""
        reaped = await self.hub.backend.heartbeat()
        by_topic: dict[str, list[Entry]] = {}
        for topic, _, raw in reaped:
            by_topic.setdefault(topic, []).append(_decode_entry(raw))
        for topic, leaves in by_topic.items():
            await self.hub.backend.publish_ephemeral(topic, diff_frame(topic, leaves=leaves))


__all__ = ["Entry", "Presence", "diff_frame", "state_frame"]
