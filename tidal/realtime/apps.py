"""The ``tidal.realtime`` app: install it (``Tidal(apps=["tidal.realtime", ...])``) for live
model broadcasts. It brings the ``tidal_outbox`` table (created by ``tidal db migrate``)
and the relay that publishes it. Channels, presence and SSE work without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidal.apps import AppConfig

if TYPE_CHECKING:
    from tidal.app import Tidal


class RealtimeApp(AppConfig):
    label = "realtime"

    def ready(self, app: Tidal) -> None:
        from tidal.realtime.outbox import install

        install(app)


__all__ = ["RealtimeApp"]
