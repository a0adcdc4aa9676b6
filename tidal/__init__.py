"""Tidal: Django's batteries and security defaults on an async event loop.

The names most projects need; everything else lives in its subpackage.
"""

from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket as WebSocket
from starlette.websockets import WebSocketDisconnect as WebSocketDisconnect

from tidal.app import Tidal as Tidal
from tidal.apps import AppConfig as AppConfig
from tidal.conf import Settings as Settings
from tidal.http.errors import HTTPError as HTTPError
from tidal.http.params import Body as Body
from tidal.http.params import Cookie as Cookie
from tidal.http.params import Depends as Depends
from tidal.http.params import Header as Header
from tidal.http.params import Query as Query
from tidal.http.requests import Request as Request
from tidal.http.responses import HTMLResponse as HTMLResponse
from tidal.http.responses import JSONResponse as JSONResponse
from tidal.http.responses import Response as Response
from tidal.http.responses import StreamingResponse as StreamingResponse
from tidal.http.responses import redirect as redirect
from tidal.http.routing import Router as Router
from tidal.middleware.base import Middleware as Middleware

if TYPE_CHECKING:
    from tidal.templates.responses import render as render

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``render`` pulls in Jinja2: loaded on first use, so JSON-only apps never pay for it.
    if name == "render":
        from tidal.templates.responses import render

        return render
    raise AttributeError(f"module 'tidal' has no attribute {name!r}")


__all__ = [
    "AppConfig",
    "Body",
    "Cookie",
    "Depends",
    "HTMLResponse",
    "HTTPError",
    "Header",
    "JSONResponse",
    "Middleware",
    "Query",
    "Request",
    "Response",
    "Router",
    "Settings",
    "StreamingResponse",
    "Tidal",
    "WebSocket",
    "WebSocketDisconnect",
    "redirect",
    "render",
]
