"""Through a real uvicorn: hostile and malformed requests get 4xx answers and the server
keeps serving the next request."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.integration.serverapp:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url + "/ok", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("uvicorn did not start")
        yield url
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
        # the only traceback in the server log is the operator's copy of the /boom error
        assert output.count("Traceback") == output.count("RuntimeError: kaboom") == 1, output


def raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while True:
            try:
                data = conn.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks) and len(chunks) > 0:
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(body) >= length:
                    break
        return b"".join(chunks)


def test_bad_requests_then_good_ones(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        assert (
            client.post(
                "/notes", content=b"{nope", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        assert client.post("/notes", json={"text": 1, "stars": "x"}).status_code == 422
        assert (
            client.post(
                "/notes", content=b"x" * 10_000, headers={"content-type": "application/json"}
            ).status_code
            == 413
        )
        assert (
            client.post("/notes", content=b"a=b", headers={"content-type": "text/csv"}).status_code
            == 415
        )
        assert client.get("/missing").status_code == 404
        assert client.delete("/ok").status_code == 405
        failed = client.get("/boom")
        assert failed.status_code == 500
        assert "kaboom" not in failed.text
        created = client.post("/notes", json={"text": "hi", "stars": 5})
        assert (created.status_code, created.json()) == (201, {"text": "hi", "stars": 5})


def test_oversize_announced_body_is_refused_before_upload(server: str) -> None:
    response = raw(
        server,
        b"POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000\r\n\r\n",
    )
    assert response.startswith(b"HTTP/1.1 413")
    assert httpx.get(server + "/ok").json() == {"ok": True}


def test_garbage_and_bad_content_length(server: str) -> None:
    assert raw(server, b"\x16\x03\x01garbage\r\n\r\n").startswith(b"HTTP/1.1 400")
    bad_length = raw(
        server,
        b"POST /notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
    )
    assert bad_length.startswith(b"HTTP/1.1 400")
    assert httpx.get(server + "/ok").json() == {"ok": True}
