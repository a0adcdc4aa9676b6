"""Pure-ASGI middleware: each wraps the next app, with no per-request task or object."""

from tidal.middleware.base import Middleware
from tidal.middleware.errors import ServerErrorMiddleware

__all__ = ["Middleware", "ServerErrorMiddleware"]
