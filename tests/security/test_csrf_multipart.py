"""CSRF on multipart bodies: the token is read from the stream without holding the upload
in memory, and must come before the files."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Callable, Iterator

from tidal import Request, Tidal
from tidal.middleware.csrf import MULTIPART_SCAN_LIMIT
from tidal.security import CsrfToken
from tidal.testing import TestClient
from tidal.types import Message, Scope

AppFactory = Callable[..., Tidal]
BOUNDARY = b"tidal-boundary-7f3a"
CHUNK = 65_536
MiB = 1024 * 1024


def streaming_app(memory_app: AppFactory) -> Tidal:
    app = memory_app(max_body_size=64 * MiB)

    @app.get("/form")
    async def form(csrf: CsrfToken) -> dict[str, str]:
        return {"token": csrf}

    @app.post("/stream")
    async def stream(request: Request) -> dict[str, int | str]:
        """What a handler that streams an upload sees: every byte, in order."""
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
        return {"size": size, "sha256": digest.hexdigest()}

    @app.post("/fields")
    async def fields(request: Request) -> dict[str, str | int]:
        async with request.form() as data:
            upload = data["file"]
            assert not isinstance(upload, str)
            return {"note": str(data["note"]), "size": len(await upload.read())}

    return app


def field(name: str, value: bytes) -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"
    )


def file_header(name: str = "file") -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="' + name.encode() + b'"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )


END = b"\r\n--" + BOUNDARY + b"--\r\n"


class Upload:
    """A multipart body produced chunk by chunk as the application asks for it (never whole
    in memory), recording what was sent and when the response started."""

    def __init__(self, head: bytes, file_size: int, tail: bytes = END) -> None:
        self.head = head
        self.file_size = file_size
        self.tail = tail
        self.sent = 0
        self.sent_before_response: int | None = None
        self.digest = hashlib.sha256()
        self.chunks = self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        yield self.head
        pattern = bytes(range(256)) * (CHUNK // 256)
        left = self.file_size
        while left > 0:
            piece = pattern[: min(CHUNK, left)]
            left -= len(piece)
            yield piece
        yield self.tail

    async def receive(self) -> Message:
        chunk = next(self.chunks, None)
        if chunk is None:
            return {"type": "http.disconnect"}
        self.sent += len(chunk)
        self.digest.update(chunk)
        return {"type": "http.request", "body": chunk, "more_body": chunk is not self.tail}

    @property
    def length(self) -> int:
        return len(self.head) + self.file_size + len(self.tail)


async def post(app: Tidal, path: str, upload: Upload, cookie: str) -> tuple[int, bytes]:
    """POST ``upload`` to ``path`` straight over ASGI, streamed."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"cookie", f"tidal_session={cookie}".encode()),
            (b"content-type", b"multipart/form-data; boundary=" + BOUNDARY),
            (b"content-length", str(upload.length).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    status = 0
    body: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            upload.sent_before_response = upload.sent
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, upload.receive, send)
    return status, b"".join(body)


async def session(client: TestClient) -> tuple[str, str]:
    """A session cookie and its CSRF token."""
    response = await client.get("/form")
    return response.cookies["tidal_session"], response.json()["token"]


async def test_a_large_upload_streams_through_with_the_token_first(
    memory_app: AppFactory,
) -> None:
    app = streaming_app(memory_app)
    async with TestClient(app) as client:
        cookie, token = await session(client)
        upload = Upload(field("csrf_token", token.encode()) + file_header(), 50 * MiB)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            status, body = await post(app, "/stream", upload, cookie)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert status == 200, body
        assert json.loads(body) == {"size": upload.length, "sha256": upload.digest.hexdigest()}
        assert peak < MiB, f"{peak} bytes held at once for a 50 MiB upload"


async def test_fields_after_the_token_reach_the_form_parser(memory_app: AppFactory) -> None:
    app = streaming_app(memory_app)
    async with TestClient(app) as client:
        cookie, token = await session(client)
        head = field("note", b"hello") + field("csrf_token", token.encode()) + file_header()
        status, body = await post(app, "/fields", Upload(head, 300_000), cookie)
        assert status == 200, body
        assert body == b'{"note":"hello","size":300000}'


async def test_a_missing_token_is_refused(memory_app: AppFactory) -> None:
    app = streaming_app(memory_app)
    async with TestClient(app) as client:
        cookie, _ = await session(client)
        status, body = await post(app, "/stream", Upload(file_header(), 10_000), cookie)
        assert status == 403
        assert b"the CSRF token is missing" in body


async def test_a_token_after_the_upload_is_refused_without_reading_it(
    memory_app: AppFactory,
) -> None:
    app = streaming_app(memory_app)
    async with TestClient(app) as client:
        cookie, token = await session(client)
        tail = b"\r\n" + field("csrf_token", token.encode()) + b"--" + BOUNDARY + b"--\r\n"
        upload = Upload(file_header(), 20 * MiB, tail)
        status, body = await post(app, "/stream", upload, cookie)
        assert status == 403
        assert b"csrf_token field must come first in the form" in body
        assert b"X-CSRF-Token" in body
        assert upload.sent_before_response is not None
        assert upload.sent_before_response <= MULTIPART_SCAN_LIMIT + 2 * CHUNK
