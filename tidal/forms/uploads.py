"""``UploadedFile``: a file from a multipart form, already streamed to disk.

The file lives in the upload folder (``settings.upload_dir``, or the system's temporary
folder) under a random name until the handler saves it elsewhere with ``await
file.save(path)``. Anything not saved is deleted when the request ends (forms injected with
``Submitted[...]``), when ``close()`` is awaited, or at the latest when the object is
garbage collected, so abandoned uploads do not pile up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import weakref
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class UploadedFile:
    """One uploaded file.

    Attributes:
        field: the form field it was sent in.
        filename: the name the browser gave (never trust it as a path; it is reduced to
            its last component, but pick your own name to store it under).
        content_type: the media type the browser claimed (not verified).
        size: its size in bytes.
        path: where it is on disk now.
    """

    __slots__ = ("__weakref__", "_finalizer", "content_type", "field", "filename", "path", "size")

    def __init__(
        self, *, field: str, filename: str, content_type: str, size: int, path: str | Path
    ) -> None:
        self.field = field
        self.filename = os.path.basename(filename.replace("\\", "/"))
        self.content_type = content_type
        self.size = size
        self.path = Path(path)
        self._finalizer = weakref.finalize(self, _unlink, str(self.path))

    @property
    def saved(self) -> bool:
        """Whether ``save`` moved the file out of the upload folder."""
        return not self._finalizer.alive

    def open(self) -> BinaryIO:
        """The file opened for reading in binary mode (a blocking call: prefer ``read`` in
        async code, or wrap this in a thread for large files)."""
        return self.path.open("rb")

    async def read(self) -> bytes:
        """The whole content, read in a worker thread."""
        return await anyio.to_thread.run_sync(self.path.read_bytes)

    async def save(self, destination: str | os.PathLike[str]) -> Path:
        """Move the file to ``destination`` (a file path, whose folder must exist) and
        keep it there; returns the new path."""
        target = Path(destination)
        await anyio.to_thread.run_sync(shutil.move, str(self.path), str(target))
        self._finalizer.detach()
        self.path = target
        return target

    async def close(self) -> None:
        """Delete the file unless it was saved."""
        if self._finalizer.alive:
            self._finalizer.detach()
            await anyio.to_thread.run_sync(_unlink, str(self.path))

    def discard(self) -> None:
        """``close`` without a worker thread (error paths, cancellation)."""
        self._finalizer()

    def __repr__(self) -> str:
        return f"<UploadedFile {self.field}: {self.filename!r} ({self.size} bytes)>"


__all__ = ["UploadedFile"]
