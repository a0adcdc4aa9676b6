"""The socket's consumer, in the style of Channels' chat tutorial: join a group on the
client's request, and turn each group message into a frame for this client."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

# Channels' group names allow letters, digits, hyphens, underscores and periods only.
GROUPS = {"bench:all": "bench.all"}


class TopicConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        self.joined: list[str] = []
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        group = GROUPS.get(content.get("topic", "")) if content.get("type") == "join" else None
        if group is None:
            return
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.append(group)
        await self.send_json(
            {"type": "reply", "ref": content.get("ref"), "topic": content["topic"], "status": "ok"}
        )

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def bench_tick(self, event: dict[str, Any]) -> None:
        """A ``{"type": "bench.tick"}`` group message."""
        await self.send_json(
            {"type": "event", "topic": "bench:all", "event": "tick", "data": event["data"]}
        )
