"""Static files: every installed app's ``static/`` folder served under one URL prefix, or
the folder ``tidal collectstatic`` filled.

A file is looked up in the apps' folders in installed-app order and the first match wins,
so a project can replace a built-in app's stylesheet by shipping the same path. Namespace
files by app (``home/static/home/site.css`` -> ``/static/home/site.css``) to avoid
accidental clashes.

Caching: content-hashed names (from the manifest) are sent with ``Cache-Control: public,
max-age=31536000, immutable``; every other file with ``no-cache``, so browsers revalidate
it with its ETag and get a bodiless 304 while it has not changed. A client that accepts
gzip gets a file's pre-compressed ``.gz`` twin when there is one.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles

from tidal.exceptions import ImproperlyConfigured
from tidal.http.errors import HTTPError, send_error
from tidal.types import Receive, Scope, Send

if TYPE_CHECKING:
    from tidal.app import Tidal

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def static_dirs(app: Tidal) -> list[Path]:
    """Every installed app's ``static/`` folder, in lookup (installed-app) order."""
    return [config.static_dir for config in app.apps if config.static_dir is not None]


def accepts_gzip(scope: Scope) -> bool:
    """Whether the client's Accept-Encoding allows gzip (and does not refuse it, q=0)."""
    for key, value in scope["headers"]:
        if key == b"accept-encoding":
            for item in value.decode("latin-1").lower().split(","):
                coding, _, params = item.strip().partition(";")
                if coding.strip() in ("gzip", "*"):
                    quality = params.replace(" ", "").removeprefix("q=")
                    return not (params and quality in ("0", "0.0", "0.00", "0.000"))
            return False
    return False


class AppStaticFiles(StaticFiles):
    """An ASGI app serving files from several folders, first match wins.

    Starlette does the serving (ETag, Last-Modified, 304s, ranges, HEAD, path traversal
    refused); this class supplies the folders, the caching headers and the gzip variants,
    and answers errors the way the rest of Tidal does (problem+json, or an HTML page for
    browsers).

    Args:
        directories: the folders to search, in order.
        follow_symlink: serve files that symlink outside the folders.
        hashed: paths (relative, with ``/``) whose names carry a content hash: cached
            as immutable.
        gzipped: paths that have a ``.gz`` twin; ``None`` looks for one on disk.
        check_dirs: refuse folders that do not exist (off for a folder a later
            ``collectstatic`` fills).
    """

    def __init__(
        self,
        directories: Sequence[str | Path],
        *,
        follow_symlink: bool = False,
        hashed: Collection[str] = (),
        gzipped: Collection[str] | None = None,
        check_dirs: bool = True,
    ) -> None:
        if check_dirs:
            missing = [str(path) for path in directories if not Path(path).is_dir()]
            if missing:
                raise ImproperlyConfigured(f"Static file folder(s) {missing} do not exist.")
        self.directories = [Path(path) for path in directories]
        self.hashed = frozenset(hashed)
        self.gzipped = frozenset(gzipped) if gzipped is not None else None
        super().__init__(check_dir=False, follow_symlink=follow_symlink)

    def get_directories(
        self,
        directory: str | os.PathLike[str] | None = None,
        packages: list[str | tuple[str, str]] | None = None,
    ) -> list[str | os.PathLike[str]]:
        return list(self.directories)

    def has_gzip(self, relative: str, full_path: str) -> bool:
        if self.gzipped is not None:
            return relative in self.gzipped
        return os.path.isfile(f"{full_path}.gz")

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        relative = self.get_path(scope).replace(os.sep, "/")
        path = os.fspath(full_path)
        headers = {"cache-control": IMMUTABLE if relative in self.hashed else REVALIDATE}
        response: FileResponse | None = None
        if not relative.endswith(".gz") and self.has_gzip(relative, path):
            headers["vary"] = "Accept-Encoding"
            if accepts_gzip(scope):
                try:
                    gz_stat = os.stat(f"{path}.gz")
                except OSError:
                    gz_stat = None
                if gz_stat is not None:
                    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
                    response = FileResponse(
                        f"{path}.gz",
                        status_code=status_code,
                        headers={**headers, "content-encoding": "gzip"},
                        media_type=media_type,
                        stat_result=gz_stat,
                    )
        if response is None:
            response = FileResponse(
                path, status_code=status_code, headers=headers, stat_result=stat_result
            )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except HTTPException as exc:
            detail = f"No static file at {scope['path']!r}." if exc.status_code == 404 else None
            await send_error(scope, send, HTTPError(exc.status_code, detail, headers=exc.headers))


class CollectedStaticFiles(AppStaticFiles):
    """The files ``tidal collectstatic`` put in ``static_root``; the manifest (read at
    start-up) says which names are hashed and which have a ``.gz``."""

    def __init__(self, app: Tidal) -> None:
        root = app.settings.static_root
        assert root is not None
        super().__init__([root], check_dirs=False, gzipped=())
        self.app = app
        self.loaded = False

    def load(self) -> None:
        """Read the manifest (``ImproperlyConfigured`` if it is missing)."""
        from tidal.templates.manifest import get_manifest

        manifest = get_manifest(self.app)
        if manifest is not None:
            self.hashed = frozenset(manifest.paths.values())
            self.gzipped = frozenset(manifest.gzip)
        self.loaded = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.loaded:
            self.load()
        await super().__call__(scope, receive, send)


__all__ = ["IMMUTABLE", "REVALIDATE", "AppStaticFiles", "CollectedStaticFiles", "static_dirs"]
