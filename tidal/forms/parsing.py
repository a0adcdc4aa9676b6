"""Reading form bodies: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Multipart bodies are parsed as they stream in (python-multipart); file parts go straight to
disk, never whole into memory. Every limit is enforced while reading, and any failure (a
limit crossed, a malformed body, the client going away) deletes the files written so far
before the error propagates: an upload refused with 413 leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.requests import ClientDisconnect, HTTPConnection, Request

from tidal.forms.uploads import UploadedFile
from tidal.http.endpoint import ClientDisconnected
from tidal.http.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

if TYPE_CHECKING:
    from tidal.conf.settings import Settings

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_FLUSH_AT = 256 * 1024  # buffer file data up to this much between writes in a thread


@dataclasses.dataclass(frozen=True)
class FormLimits:
    """What one form body may hold; ``from_settings`` reads the ``upload_*`` and
    ``form_*`` settings."""

    max_fields: int = 1000
    max_field_size: int = 65_536
    max_files: int = 20
    max_file_size: int = 10_485_760
    upload_dir: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FormLimits:
        return cls(
            max_fields=settings.form_max_fields,
            max_field_size=settings.form_max_field_size,
            max_files=settings.upload_max_files,
            max_file_size=settings.upload_max_file_size,
            upload_dir=settings.upload_dir,
        )


class FormData(Mapping[str, str]):
    """The fields of a submitted form: ``data["title"]`` is the last value sent under that
    name, ``data.getlist("tag")`` all of them, ``data.files`` the uploaded files by field.

    Args:
        fields: ``(name, value)`` pairs in the order they were sent.
        files: uploaded files in the order they were sent.
    """

    def __init__(
        self,
        fields: list[tuple[str, str]] | None = None,
        files: list[UploadedFile] | None = None,
    ) -> None:
        self.pairs = list(fields or [])
        self.files: dict[str, list[UploadedFile]] = {}
        for file in files or []:
            self.files.setdefault(file.field, []).append(file)
        self._last = dict(self.pairs)

    @classmethod
    def from_mapping(cls, data: Mapping[str, str | list[str]]) -> FormData:
        """Build one from ``{"name": "value" or ["a", "b"]}`` (tests, re-submitting)."""
        pairs: list[tuple[str, str]] = []
        for key, value in data.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, item) for item in value)
        return cls(pairs)

    def __getitem__(self, key: str) -> str:
        return self._last[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def getlist(self, key: str) -> list[str]:
        return [value for name, value in self.pairs if name == key]

    def all_files(self) -> list[UploadedFile]:
        return [file for files in self.files.values() for file in files]

    async def close(self) -> None:
        """Delete every uploaded file that was not saved."""
        for file in self.all_files():
            await file.close()

    def __repr__(self) -> str:
        return f"<FormData {len(self.pairs)} fields, {len(self.all_files())} files>"


def _media_type(scope: Mapping[str, Any]) -> tuple[str, bytes]:
    for key, value in scope["headers"]:
        if key == b"content-type":
            raw: bytes = value
            return raw.decode("latin-1").partition(";")[0].strip().lower(), raw
    return "", b""


async def parse_form(request: HTTPConnection, limits: FormLimits | None = None) -> FormData:
    """The form a request carries: its body for POST/PUT/PATCH (urlencoded or multipart),
    its query string otherwise.

    Raises:
        PayloadTooLarge: a limit of ``limits`` or ``max_body_size`` was crossed (413).
        UnsupportedMediaType: the body is not a form (415).
        BadRequest: the body is malformed or not UTF-8 (400).
    """
    if limits is None:
        app = request.scope.get("tidal.app")
        limits = FormLimits.from_settings(app.settings) if app is not None else FormLimits()
    if request.scope.get("method", "GET") in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return _urlencoded(request.scope.get("query_string", b""), limits)
    if not isinstance(request, Request):
        raise TypeError("parse_form needs an HTTP request to read a body from.")
    media, raw_type = _media_type(request.scope)
    if media == MULTIPART:
        return await _multipart(request, raw_type, limits)
    if media not in (URLENCODED, ""):
        raise UnsupportedMediaType(
            f"Expected a form body ({URLENCODED} or {MULTIPART}), got {media}. Submit the "
            "form from a <form method=post> element, or send one of those content types."
        )
    try:
        body = await request.body()
    except ClientDisconnect:
        raise ClientDisconnected from None
    return _urlencoded(body, limits)


def _urlencoded(body: bytes, limits: FormLimits) -> FormData:
    if not body:
        return FormData()
    if body.count(b"&") + 1 > limits.max_fields:
        raise PayloadTooLarge(
            f"The form has more than {limits.max_fields} fields (TIDAL_FORM_MAX_FIELDS)."
        )
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("The form data is not valid UTF-8.") from None
    for name, value in pairs:
        if len(value) > limits.max_field_size:
            raise PayloadTooLarge(
                f"The form field {name!r} is larger than {limits.max_field_size} bytes "
                "(TIDAL_FORM_MAX_FIELD_SIZE)."
            )
    return FormData(pairs)


class _Part:
    __slots__ = ("content_type", "file", "filename", "handle", "name", "pending", "size", "value")

    def __init__(self) -> None:
        self.name = ""
        self.filename: str | None = None
        self.content_type = ""
        self.value = bytearray()
        self.handle: BinaryIO | None = None
        self.file: UploadedFile | None = None
        self.pending = bytearray()
        self.size = 0


class _MultipartReader:
    """Turns python-multipart's callbacks into fields and files on disk, within limits.

    The parser's callbacks are synchronous; they only record events, and ``drain`` acts on
    them between chunks, so file writes can run in a worker thread."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.events: list[tuple[str, Any]] = []
        self.fields: list[tuple[str, str]] = []
        self.files: list[UploadedFile] = []
        self.handles: list[BinaryIO] = []
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.headers: list[tuple[bytes, bytes]] = []

    # -- parser callbacks -------------------------------------------------------------

    def on_part_begin(self) -> None:
        self.headers = []
        self.events.append(("begin", None))

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers.append((self.header_name.lower(), self.header_value))
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        self.events.append(("headers", self.headers))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.events.append(("data", data[start:end]))

    def on_part_end(self) -> None:
        self.events.append(("end", None))

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    # -- acting on the events ---------------------------------------------------------

    async def drain(self) -> None:
        events, self.events = self.events, []
        for kind, data in events:
            if kind == "begin":
                self.part = _Part()
            elif kind == "headers":
                await self.start_part(data)
            elif kind == "data":
                await self.add_data(data)
            else:
                await self.end_part()

    async def start_part(self, headers: list[tuple[bytes, bytes]]) -> None:
        from python_multipart.multipart import parse_options_header

        part = self.part
        for name, value in headers:
            if name == b"content-disposition":
                _, options = parse_options_header(value)
                part.name = options.get(b"name", b"").decode("utf-8", "replace")
                filename = options.get(b"filename")
                if filename is not None:
                    part.filename = filename.decode("utf-8", "replace")
            elif name == b"content-type":
                part.content_type = value.decode("latin-1")
        if part.filename is None:
            if len(self.fields) >= self.limits.max_fields:
                raise PayloadTooLarge(
                    f"The form has more than {self.limits.max_fields} fields "
                    "(TIDAL_FORM_MAX_FIELDS)."
                )
            return
        if part.filename == "":
            return  # a file input left empty: browsers send a nameless, empty part
        if len(self.files) >= self.limits.max_files:
            raise PayloadTooLarge(
                f"The form has more than {self.limits.max_files} files (TIDAL_UPLOAD_MAX_FILES)."
            )
        part.handle, path = await anyio.to_thread.run_sync(self.create_file)
        part.file = UploadedFile(
            field=part.name,
            filename=part.filename,
            content_type=part.content_type or "application/octet-stream",
            size=0,
            path=path,
        )
        self.files.append(part.file)

    def create_file(self) -> tuple[BinaryIO, str]:
        directory = self.limits.upload_dir
        if directory is not None:
            os.makedirs(directory, exist_ok=True)
        descriptor, path = tempfile.mkstemp(prefix="tidal-upload-", dir=directory)
        handle = os.fdopen(descriptor, "wb")
        self.handles.append(handle)
        return handle, path

    async def add_data(self, data: bytes) -> None:
        part = self.part
        part.size += len(data)
        if part.file is None:
            if part.filename is not None:
                return  # the empty file input's part
            if part.size > self.limits.max_field_size:
                raise PayloadTooLarge(
                    f"The form field {part.name!r} is larger than "
                    f"{self.limits.max_field_size} bytes (TIDAL_FORM_MAX_FIELD_SIZE)."
                )
            part.value += data
            return
        if part.size > self.limits.max_file_size:
            raise PayloadTooLarge(
                f"The file {part.file.filename!r} is larger than {self.limits.max_file_size} "
                "bytes (TIDAL_UPLOAD_MAX_FILE_SIZE)."
            )
        part.pending += data
        if len(part.pending) >= _FLUSH_AT:
            await self.flush(part)

    async def flush(self, part: _Part) -> None:
        if part.handle is not None and part.pending:
            chunk, part.pending = bytes(part.pending), bytearray()
            await anyio.to_thread.run_sync(part.handle.write, chunk)

    async def end_part(self) -> None:
        part = self.part
        if part.file is not None and part.handle is not None:
            await self.flush(part)
            handle, part.handle = part.handle, None
            await anyio.to_thread.run_sync(handle.close)
            self.handles.remove(handle)
            part.file.size = part.size
        elif part.filename is None:
            try:
                value = part.value.decode()
            except UnicodeDecodeError:
                raise BadRequest(f"The form field {part.name!r} is not valid UTF-8.") from None
            self.fields.append((part.name, value))

    def discard(self) -> None:
        """Close and delete everything written: the request failed. Synchronous (a few
        system calls) so it also runs when the task is being cancelled."""
        handles, self.handles = self.handles, []
        files, self.files = self.files, []
        for handle in handles:
            handle.close()
        for file in files:
            file.discard()


async def _multipart(request: Request, content_type: bytes, limits: FormLimits) -> FormData:
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("The multipart form has no boundary in its Content-Type header.")
    reader = _MultipartReader(limits)
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        try:
            async for chunk in request.stream():
                if chunk:
                    parser.write(chunk)
                    await reader.drain()
            parser.finalize()
            await reader.drain()
        except FormParserError as exc:
            raise BadRequest(f"The multipart form is malformed: {exc}.") from None
        except ClientDisconnect:
            raise ClientDisconnected from None
    except BaseException:
        reader.discard()
        raise
    if reader.handles:  # the body ended inside a file part
        reader.discard()
        raise BadRequest("The multipart form ended before its last part did.")
    return FormData(reader.fields, reader.files)


__all__ = ["MULTIPART", "URLENCODED", "FormData", "FormLimits", "parse_form"]
