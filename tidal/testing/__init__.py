"""Testing Tidal applications: the same client and fixtures Tidal's own tests use."""

from tidal.testing.client import TestClient
from tidal.testing.lifespan import Lifespan, LifespanError
from tidal.testing.websocket import WebSocketClosed, WebSocketRejected, WebSocketSession

__all__ = [
    "Lifespan",
    "LifespanError",
    "TestClient",
    "WebSocketClosed",
    "WebSocketRejected",
    "WebSocketSession",
]
