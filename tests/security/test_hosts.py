"""Forged Host headers are refused before any handler runs (cache poisoning, poisoned
password-reset links)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tidal import Tidal
from tidal.security.hosts import effective_patterns, host_matches, split_host
from tidal.testing import TestClient, WebSocketRejected

from .support import raw_request

AppFactory = Callable[..., Tidal]


def with_index(app: Tidal) -> Tidal:
    @app.get("/")
    async def index() -> dict[str, str]:
        return {"ok": "yes"}

    @app.websocket("/ws")
    async def socket(websocket) -> None:  # type: ignore[no-untyped-def]
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    return app


HOSTILE = [
    "evil.com",
    "testserver.evil.com",
    "evil.com@testserver",
    "testserver@evil.com",
    "testserver:80@evil.com",
    "testserver:abc",
    "testserver:80:80",
    "test server",
    "testserver/evil",
    "testserver\\evil",
    "evil.com#testserver",
    "evil.com?testserver",
    "[::1",
    "::1",
    "..testserver",
    "testserver..",
    "",
    "tést.com",
]


@pytest.mark.parametrize("host", HOSTILE)
async def test_forged_host_is_refused(memory_app: AppFactory, host: str) -> None:
    app = with_index(memory_app())
    response = await raw_request(app, headers=[(b"host", host.encode())])
    assert response.status == 400
    assert response.header("content-type") == "application/problem+json"
    # The refused value is not echoed back outside debug mode.
    assert host.encode() not in response.body or host == ""


@pytest.mark.parametrize(
    "host", ["testserver", "TESTSERVER", "testserver.", "testserver:8000", "testserver:80"]
)
async def test_allowed_host_variants(memory_app: AppFactory, host: str) -> None:
    app = with_index(memory_app())
    async with TestClient(app) as client:
        response = await client.get("/", headers={"host": host})
    assert response.status_code == 200, response.text


async def test_browser_gets_html_and_debug_names_the_fix(memory_app: AppFactory) -> None:
    app = with_index(memory_app(debug=True))
    async with TestClient(app) as client:
        page = await client.get("/", headers={"host": "evil.com", "accept": "text/html"})
        api = await client.get("/", headers={"host": "evil.com"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>400 Bad Request</h1>" in page.text
    assert api.json()["detail"] == (
        "Invalid Host header 'evil.com'. Add 'evil.com' to TIDAL_ALLOWED_HOSTS if this site "
        "should answer for it."
    )


async def test_refusal_is_logged(memory_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    app = with_index(memory_app())
    with caplog.at_level(logging.WARNING, logger="tidal.security.hosts"):
        await raw_request(app, headers=[(b"host", b"evil.com\r\nX-Injected: 1")])
    assert "Refused GET /" in caplog.text
    assert "\\r\\n" in caplog.text  # logged with repr, so it cannot forge log lines


async def test_missing_and_duplicate_host(memory_app: AppFactory) -> None:
    app = with_index(memory_app())
    double = await raw_request(app, headers=[(b"host", b"testserver"), (b"host", b"evil.com")])
    assert double.status == 400
    assert b"two Host headers" in double.body
    # Without Host (HTTP/1.0), URLs come from the server's own address: it must be allowed.
    own_name = await raw_request(app, headers=[], server=("testserver", 80))
    bare_address = await raw_request(app, headers=[], server=("10.0.0.5", 8000))
    unknown = await raw_request(app, headers=[], server=None)
    assert own_name.status == 200
    assert (bare_address.status, unknown.status) == (400, 400)
    assert b"no Host header" in unknown.body


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("example.com", True),
        ("www.example.com", True),
        ("a.b.example.com:8443", True),
        ("evilexample.com", False),
        ("example.com.evil.org", False),
        ("example.org", False),
    ],
)
async def test_subdomain_pattern(memory_app: AppFactory, host: str, allowed: bool) -> None:
    app = with_index(memory_app(allowed_hosts=[".example.com"]))
    response = await raw_request(app, headers=[(b"host", host.encode())])
    assert (response.status == 200) is allowed


@pytest.mark.parametrize(
    ("patterns", "host", "allowed"),
    [
        (["[::1]"], "[::1]", True),
        (["[::1]"], "[::1]:8000", True),
        (["::1"], "[::1]:8000", True),
        (["[::1]"], "[::2]", False),
        (["[2001:db8::1]"], "[2001:DB8::1]", True),
        (["127.0.0.1"], "127.0.0.1:8000", True),
        (["127.0.0.1"], "127.0.0.2", False),
    ],
)
async def test_ip_literals(
    memory_app: AppFactory, patterns: list[str], host: str, allowed: bool
) -> None:
    app = with_index(memory_app(allowed_hosts=patterns))
    response = await raw_request(app, headers=[(b"host", host.encode())])
    assert (response.status == 200) is allowed


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost:8000", True),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("board.localhost", True),
        ("testserver", True),
        ("evil.com", False),
        ("localhost.evil.com", False),
    ],
)
async def test_debug_allows_loopback_only(memory_app: AppFactory, host: str, allowed: bool) -> None:
    app = with_index(memory_app(debug=True, allowed_hosts=[]))
    response = await raw_request(app, headers=[(b"host", host.encode())])
    assert (response.status == 200) is allowed


async def test_wildcard_turns_validation_off_and_says_so(
    memory_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = with_index(memory_app(allowed_hosts=["*"]))
    with caplog.at_level(logging.WARNING, logger="tidal.security"):
        async with TestClient(app) as client:
            response = await client.get("/", headers={"host": "anything.example"})
    assert response.status_code == 200
    assert "Host header validation is OFF (TIDAL_ALLOWED_HOSTS contains '*')" in caplog.text


async def test_websocket_with_forged_host_is_refused(memory_app: AppFactory) -> None:
    app = with_index(memory_app())
    async with TestClient(app, base_url="http://evil.com") as client:
        with pytest.raises(WebSocketRejected) as info:
            async with client.websocket_connect("/ws"):
                pass
    assert info.value.code == 1008
    async with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        assert await socket.receive_text() == "hello"


def test_split_host_and_matching() -> None:
    assert split_host("Example.COM.:443") == ("example.com", "443")
    assert split_host("[::1]:80") == ("[::1]", "80")
    assert split_host("a@b") is None
    patterns = effective_patterns([".Example.com", "EXACT.org:8000"], debug=False)
    assert patterns == [".example.com", "exact.org"]
    assert host_matches("exact.org", patterns)
    assert not host_matches("sub.exact.org", patterns)
    assert effective_patterns([], debug=False) == []
