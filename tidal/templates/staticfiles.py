"""Static files: every installed app's ``static/`` folder served under one URL prefix.

A file is looked up in the apps' folders in installed-app order and the first match wins,
so a project can replace a built-in app's stylesheet by shipping the same path. Namespace
files by app (``home/static/home/site.css`` -> ``/static/home/site.css``) to avoid
accidental clashes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from tidal.exceptions import ImproperlyConfigured
from tidal.http.errors import HTTPError, send_error
from tidal.types import Receive, Scope, Send

if TYPE_CHECKING:
    from tidal.app import Tidal


def static_dirs(app: Tidal) -> list[Path]:
    """Every installed app's ``static/`` folder, in lookup (installed-app) order."""
    return [config.static_dir for config in app.apps if config.static_dir is not None]


class AppStaticFiles(StaticFiles):
    """An ASGI app serving files from several folders, first match wins.

    Starlette does the serving (ETag, Last-Modified, 304s, HEAD, path traversal refused);
    this class only supplies the folders and answers errors the way the rest of Tidal does
    (problem+json, or an HTML page for browsers).

    Args:
        directories: the folders to search, in order; each must exist.
        follow_symlink: serve files that symlink outside the folders.
    """

    def __init__(self, directories: Sequence[str | Path], *, follow_symlink: bool = False) -> None:
        missing = [str(path) for path in directories if not Path(path).is_dir()]
        if missing:
            raise ImproperlyConfigured(f"Static file folder(s) {missing} do not exist.")
        self.directories = [Path(path) for path in directories]
        super().__init__(check_dir=False, follow_symlink=follow_symlink)

    def get_directories(
        self,
        directory: str | os.PathLike[str] | None = None,
        packages: list[str | tuple[str, str]] | None = None,
    ) -> list[str | os.PathLike[str]]:
        return list(self.directories)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except HTTPException as exc:
            detail = f"No static file at {scope['path']!r}." if exc.status_code == 404 else None
            await send_error(
                scope, send, HTTPError(exc.status_code, detail, headers=exc.headers)
            )


__all__ = ["AppStaticFiles", "static_dirs"]
