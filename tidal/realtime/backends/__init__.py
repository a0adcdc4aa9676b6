"""Pub/sub backends: one interface (``base``), in-process (``memory``) and Redis (``redis``).

``tidal.realtime.backends.redis`` imports redis-py; import it only when Redis is used.
"""

from tidal.realtime.backends.base import History as History
from tidal.realtime.backends.base import PubSub as PubSub
from tidal.realtime.backends.memory import MemoryBroker as MemoryBroker
from tidal.realtime.backends.memory import MemoryPubSub as MemoryPubSub

__all__ = ["History", "MemoryBroker", "MemoryPubSub", "PubSub"]
