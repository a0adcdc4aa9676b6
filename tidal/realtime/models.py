"""The tables of the ``tidal.realtime`` app: the outbox of live model broadcasts."""

from __future__ import annotations

from tidal.realtime.outbox import Outbox

__all__ = ["Outbox"]
