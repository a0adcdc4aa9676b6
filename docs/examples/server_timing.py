"""A pure ASGI middleware, added with ``Middleware(factory, **options)``, plus the
built-in CORS and GZip middleware turned on by settings."""

import time

from tidal import Middleware, Tidal
from tidal.http.errors import ServiceUnavailable
from tidal.types import ASGIApp, Message, Receive, Scope, Send


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` to every HTTP response."""

    def __init__(self, app: ASGIApp, *, metric: str = "app") -> None:
        self.app = app
        self.metric = metric

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                timing = f"{self.metric};dur={elapsed:.1f}".encode()
                message["headers"] = [*message.get("headers", ()), (b"server-timing", timing)]
            await send(message)

        await self.app(scope, receive, send_with_timing)


class Maintenance:
    """Refuses every request while ``enabled``; an HTTPError raised here becomes a response."""

    enabled = False

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.enabled:
            raise ServiceUnavailable("Back in five minutes.", headers={"Retry-After": "300"})
        await self.app(scope, receive, send)


app = Tidal(
    settings={"cors_origins": ["https://app.example.com"], "gzip_min_size": 500},
    middleware=[Middleware(ServerTiming, metric="tidal")],
)
app.add_middleware(Maintenance)


@app.get("/report")
async def report() -> str:
    return "tide table\n" * 100
