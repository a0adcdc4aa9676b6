"""The request object handed to handlers that ask for one (Starlette's, with Tidal extras)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request as StarletteRequest

if TYPE_CHECKING:
    from tidal.app import Tidal
    from tidal.conf.settings import Settings


class Request(StarletteRequest):
    """An HTTP request. Built only for handlers that declare it, so others pay nothing."""

    @property
    def tidal(self) -> Tidal:
        """The application serving this request."""
        app: Tidal = self.scope["tidal.app"]
        return app

    @property
    def settings(self) -> Settings:
        return self.tidal.settings

    @property
    def request_id(self) -> str | None:
        """The id the request-id middleware gave this request (also in the response)."""
        value: str | None = self.scope.get("tidal.request_id")
        return value

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """The path of route ``name``, including the prefix the app is mounted under."""
        return self.scope.get("root_path", "") + self.tidal.url_path_for(name, **path_params)


__all__ = ["Request"]
