"""The board app's configuration: its channel is declared once the application exists."""

from __future__ import annotations

from tidal import AppConfig, Tidal


class BoardConfig(AppConfig):
    def ready(self, app: Tidal) -> None:
        from board import channels

        channels.install(app)


__all__ = ["BoardConfig"]
