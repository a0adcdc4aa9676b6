"""Server-Sent Events on both backends: live events, Last-Event-ID resume, the gone signal,
and the stream ending on disconnect and on shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

import msgspec

from tests.realtime.support import eventually
from tidal import Request, Tidal
from tidal.realtime import Channels, EventStream, channels_of
from tidal.testing import TestClient


class Stream:
    """Reads one streaming HTTP response from an ASGI app, event by event (the httpx
    transport would wait for the end of the body)."""

    def __init__(self, app: Tidal, path: str, headers: dict[str, str] | None = None) -> None:
        path, _, query = path.partition("?")
        raw = [(b"host", b"testserver")]
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("test", 1),
            "server": ("testserver", 80),
        }
        self.app = app
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.buffer = b""
        self.status = 0
        self.ended = False
        self._sent_request = False

    async def _receive(self) -> dict[str, Any]:
        if not self._sent_request:
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        await self.messages.put(message)

    async def __aenter__(self) -> Stream:
        self.task = asyncio.ensure_future(self.app(self.scope, self._receive, self._send))
        start = await asyncio.wait_for(self.messages.get(), 5)
        self.status = start["status"]
        self.headers = dict(start["headers"])
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.disconnected.set()
        await asyncio.wait_for(self.task, 5)

    async def event(self) -> dict[str, str]:
        """The next dispatched block (``retry``/``id``-only blocks included)."""
        while b"\n\n" not in self.buffer:
            message = await asyncio.wait_for(self.messages.get(), 5)
            if not message.get("more_body", False) and not message.get("body"):
                self.ended = True
                raise EOFError
            self.buffer += message.get("body", b"")
        block, _, self.buffer = self.buffer.partition(b"\n\n")
        fields: dict[str, str] = {}
        for line in block.decode().split("\n"):
            name, _, value = line.partition(": ")
            fields[name] = value
        return fields

    async def data_event(self) -> dict[str, str]:
        while True:
            block = await self.event()
            if "data" in block:
                return block


def make(make_rt_app: Callable[..., tuple[Tidal, Channels]], **settings: Any) -> Tidal:
    app, _ = make_rt_app(**settings)

    @app.get("/feed/{name}")
    async def feed(request: Request, name: str, channels: Channels) -> EventStream:
        return channels.sse(request, f"feed:{name}")

    return app


async def test_events_stream_with_ids(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> None:
    app = make(make_rt_app)
    async with TestClient(app):
        channels = channels_of(app)
        async with Stream(app, "/feed/news") as stream:
            assert stream.status == 200
            assert stream.headers[b"content-type"].startswith(b"text/event-stream")
            assert (await stream.event()) == {"retry": "2000"}
            assert (await stream.event()) == {"id": "0-0"}  # the cursor for a resume
            first = await channels.publish("feed:news", "story", {"title": "Hi"})
            event = await stream.data_event()
            assert event == {"id": first, "event": "story", "data": '{"title":"Hi"}'}
            assert msgspec.json.decode(event["data"]) == {"title": "Hi"}
        await eventually(lambda: channels.hub.members("feed:news") == 0)


async def test_last_event_id_resumes(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> None:
    app = make(make_rt_app)
    async with TestClient(app):
        channels = channels_of(app)
        seen = await channels.publish("feed:a", "n", 0)
        missed = [await channels.publish("feed:a", "n", n) for n in (1, 2)]
        async with Stream(app, "/feed/a", {"last-event-id": seen}) as stream:
            got = [await stream.data_event() for _ in range(2)]
            assert [e["id"] for e in got] == missed
            live = await channels.publish("feed:a", "n", 3)
            assert (await stream.data_event())["id"] == live
        async with Stream(app, f"/feed/a?last_event_id={missed[-1]}") as stream:
            assert (await stream.data_event())["id"] == live


async def test_too_old_or_invalid_ids_get_the_gone_event(
    make_rt_app: Callable[..., tuple[Tidal, Channels]],
) -> None:
    app = make(make_rt_app, realtime_history=3)
    async with TestClient(app):
        channels = channels_of(app)
        old = await channels.publish("feed:b", "n", 0)
        for n in range(300):
            await channels.publish("feed:b", "n", n)
        last = (await channels.history("feed:b")).last_id
        for header in (old, "garbage"):
            async with Stream(app, "/feed/b", {"last-event-id": header}) as stream:
                gone = await stream.data_event()
                assert gone["event"] == "tidal-gone"
                assert msgspec.json.decode(gone["data"]) == {"id": last}
                assert (await stream.event()) == {"id": last}


async def test_shutdown_ends_streams(make_rt_app: Callable[..., tuple[Tidal, Channels]]) -> None:
    app = make(make_rt_app)
    async with TestClient(app):
        channels = channels_of(app)
        async with Stream(app, "/feed/c") as stream:
            await stream.event()
            await channels.stop()
            try:
                while True:
                    await stream.event()
            except EOFError:
                pass
            assert stream.ended
