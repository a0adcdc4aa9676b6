"""Server-Sent Events: a one-way stream of a topic's events, resumable with Last-Event-ID.

Return ``channels.sse(request, topic)`` from a handler (after authorizing). Each broadcast
becomes ``id: <event id>`` / ``event: <name>`` / ``data: <json>``; the browser's
``EventSource`` remembers the last id and, when the connection drops, reconnects with a
``Last-Event-ID`` header, and the stream replays what was missed from the topic's history.
When that id is older than the kept history the stream first sends
``event: tidal-gone`` (``data: {"id": <newest id>}``): reload the state, then carry on.

A stream is also a hub subscriber with a bounded queue: a reader too slow for it is cut
off (EventSource then reconnects and resumes), and shutdown ends every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tidal.realtime.backends.base import parse_id
from tidal.realtime.hub import Broadcast, Visibility
from tidal.realtime.queue import QueueClosed, SendQueue
from tidal.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from tidal.realtime.channels import Channels

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
]


class EventStream(Response):
    """The streaming response; build it with ``Channels.sse``.

    Args:
        registry: the application's ``Channels``.
        topic: the topic to stream.
        last_event_id: resume after this id (None: only new events).
        group: the subscriber group key (see ``Channel.group_by``).
        visible: the per-group visibility check (defaults to the topic's channel's).
        ping: seconds between keep-alive comments when idle.
        retry: milliseconds the browser waits before reconnecting.
    """

    def __init__(
        self,
        registry: Channels,
        topic: str,
        *,
        last_event_id: str | None = None,
        group: Hashable = None,
        visible: Visibility | None = None,
        ping: float = 15.0,
        retry: int = 2000,
    ) -> None:
        super().__init__(status_code=200)
        self.registry = registry
        self.topic = topic
        self.last_event_id = last_event_id
        self.group = group
        self.visible = visible
        self.ping = ping
        self.retry = retry
        self.queue: SendQueue[bytes] = SendQueue(registry.settings.realtime_send_queue)

    # -- the hub's subscriber interface ----------------------------------------------

    def deliver(self, broadcast: Broadcast) -> bool:
        return self.queue.put(broadcast.sse()) or self.queue.closed

    def deliver_frame(self, message: dict[str, Any]) -> bool:
        return True  # presence and other socket frames are not part of an event stream

    def overflowed(self) -> None:
        self.queue.close(discard=True)

    def topic_names(self) -> Iterable[str]:
        return (self.topic,)

    def close(self) -> None:
        """End the stream (the browser reconnects and resumes)."""
        self.queue.close()

    # -- serving ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        registry = self.registry
        if not registry.started:
            await registry.start()
        hub = registry.hub
        since, invalid = self.last_event_id, False
        if since is not None:
            try:
                parse_id(since)
            except ValueError:
                since, invalid = None, True
        attachment = await hub.attach(
            self, self.topic, group=self.group, since=since, visible=self.visible
        )
        history = attachment.history
        last = history.last_id.encode()
        preamble = b"retry: %d\n\n" % self.retry
        if history.gone or invalid:
            preamble += b'event: tidal-gone\ndata: {"id":"%s"}\n\n' % last
        if since is None or history.gone:
            preamble += b"id: %s\n\n" % last  # the cursor, without firing an event
        self.queue.put(preamble)
        registry.streams[self] = None
        watcher = asyncio.get_running_loop().create_task(self._watch(receive))
        try:
            await hub.activate(attachment)
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await self._pump(send)
        except OSError:
            pass  # the client went away mid-write
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            registry.forget(self)
            hub.detach(self, self.topic)
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _pump(self, send: Send) -> None:
        queue = self.queue
        while True:
            try:
                chunks = await asyncio.wait_for(queue.take(), self.ping)
            except TimeoutError:
                chunks = [b": ping\n\n"]
            except QueueClosed:
                return
            body = b"".join(chunks)
            await send({"type": "http.response.body", "body": body, "more_body": True})

    async def _watch(self, receive: Receive) -> None:
        """End the stream when the client disconnects."""
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self.queue.close(discard=True)
                return


__all__ = ["HEADERS", "EventStream"]
