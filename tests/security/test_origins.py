"""WebSocket handshakes: cross-site hijacking refused, the same session as HTTP, and the
CSRF token carried by the query string or the first message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import make_settings
from tidal import Tidal, WebSocket
from tidal.security import CsrfToken, authenticate_websocket, check_origin
from tidal.security.origins import normalize_origin, origin_matches
from tidal.sessions import HttpSession
from tidal.testing import TestClient, WebSocketClosed, WebSocketRejected

AppFactory = Callable[..., Tidal]


def realtime_routes(app: Tidal) -> Tidal:
    @app.get("/board")
    async def board(session: HttpSession, csrf: CsrfToken) -> dict[str, str]:
        session["user"] = "ada"
        return {"token": csrf}

    @app.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        session = await authenticate_websocket(websocket, wait=1.0)
        if websocket.application_state.name == "CONNECTING":
            await websocket.accept()
        await websocket.send_json({"user": session.get("user")})
        await websocket.close()

    return app


async def test_token_in_query_string(secure_app: AppFactory) -> None:
    app = realtime_routes(secure_app())
    async with TestClient(app) as client:
        token = (await client.get("/board")).json()["token"]
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        async with client.websocket_connect(
            f"/live?csrf_token={token}", headers={"cookie": cookie, "origin": "http://testserver"}
        ) as socket:
            assert await socket.receive_json() == {"user": "ada"}  # the HTTP session


async def test_token_in_first_message(secure_app: AppFactory) -> None:
    app = realtime_routes(secure_app())
    async with TestClient(app) as client:
        token = (await client.get("/board")).json()["token"]
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        async with client.websocket_connect("/live", headers={"cookie": cookie}) as socket:
            await socket.send_json({"csrf_token": token})
            assert await socket.receive_json() == {"user": "ada"}


@pytest.mark.parametrize("first", [{"csrf_token": "forged"}, {"other": 1}, "not json"])
async def test_bad_first_message_closes(secure_app: AppFactory, first: object) -> None:
    app = realtime_routes(secure_app())
    async with TestClient(app) as client:
        await client.get("/board")
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        async with client.websocket_connect("/live", headers={"cookie": cookie}) as socket:
            if isinstance(first, str):
                await socket.send_text(first)
            else:
                await socket.send_json(first)
            with pytest.raises(WebSocketClosed) as info:
                await socket.receive_json()
    assert info.value.code == 1008
    assert "CSRF token" in info.value.reason


async def test_token_of_another_session_is_refused(secure_app: AppFactory) -> None:
    app = realtime_routes(secure_app())
    async with TestClient(app) as attacker:
        attackers_token = (await attacker.get("/board")).json()["token"]
        async with TestClient(app, lifespan=False) as victim:
            await victim.get("/board")
            cookie = f"tidal_session={victim.cookies['tidal_session']}"
            with pytest.raises(WebSocketRejected) as info:
                async with victim.websocket_connect(
                    f"/live?csrf_token={attackers_token}", headers={"cookie": cookie}
                ):
                    pass
    assert info.value.code == 1008


async def test_cross_site_handshake_is_refused_even_with_a_token(secure_app: AppFactory) -> None:
    # The middleware refuses it before the handler; the helper also would on its own.
    app = realtime_routes(secure_app())
    async with TestClient(app) as client:
        token = (await client.get("/board")).json()["token"]
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        with pytest.raises(WebSocketRejected) as info:
            async with client.websocket_connect(
                f"/live?csrf_token={token}",
                headers={"cookie": cookie, "origin": "https://evil.example"},
            ):
                pass
    assert info.value.code == 1008


async def test_helper_checks_origin_without_the_middleware(memory_app: AppFactory) -> None:
    app = realtime_routes(memory_app(csrf_enabled=False))
    async with TestClient(app) as client:
        token = (await client.get("/board")).json()["token"]
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        with pytest.raises(WebSocketRejected) as info:
            async with client.websocket_connect(
                f"/live?csrf_token={token}",
                headers={"cookie": cookie, "origin": "https://evil.example"},
            ):
                pass
    assert "Cross-site WebSocket refused" in info.value.reason


def scope(origin: str | None, host: str = "board.example", scheme: str = "ws") -> dict[str, object]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.mark.parametrize(
    ("origin", "scheme", "allowed"),
    [
        (None, "ws", True),  # not a browser: carries no victim's cookies
        ("http://board.example", "ws", True),
        ("https://board.example", "ws", True),  # an https page of the same host
        ("http://board.example", "wss", False),  # an http page may be tampered with
        ("https://board.example:443", "wss", True),
        ("https://board.example.evil.example", "wss", False),
        ("https://evil.example", "wss", False),
        ("null", "ws", False),
        ("https://chat.partner.example", "wss", True),
    ],
)
def test_check_origin(origin: str | None, scheme: str, allowed: bool) -> None:
    settings = make_settings(csrf_trusted_origins=["https://*.partner.example"])
    assert check_origin(scope(origin, scheme=scheme), settings) is allowed


def test_origin_normalization() -> None:
    assert normalize_origin("HTTPS://Example.COM:443") == "https://example.com"
    assert normalize_origin("http://example.com:8080/path?q") == "http://example.com:8080"
    assert normalize_origin("http://user@example.com") is None
    assert normalize_origin("ftp://example.com") is None
    assert normalize_origin("null") is None
    assert origin_matches("https://a.example.com", ["https://*.example.com"])
    assert not origin_matches("https://example.com", ["https://*.example.com"])
    assert not origin_matches("https://a.example.com:8443", ["https://*.example.com"])


async def test_realtime_allowed_origins_open_websockets_only(memory_app: AppFactory) -> None:
    app = realtime_routes(memory_app(realtime_allowed_origins=["https://app.example.com"]))
    async with TestClient(app) as client:
        token = (await client.get("/board")).json()["token"]
        cookie = f"tidal_session={client.cookies['tidal_session']}"
        headers = {"cookie": cookie, "origin": "https://app.example.com"}
        async with client.websocket_connect(f"/live?csrf_token={token}", headers=headers) as ws:
            assert await ws.receive_json() == {"user": "ada"}
        posted = await client.post("/board", headers={"origin": "https://app.example.com"})
    assert posted.status_code == 403  # not a CSRF-trusted origin for forms


async def test_any_origin_for_websockets_is_explicit(
    memory_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = realtime_routes(memory_app(realtime_allowed_origins=["*"]))
    with caplog.at_level("WARNING", logger="tidal.security"):
        async with TestClient(app) as client:
            await client.get("/board")
    assert "Cross-site WebSocket protection is OFF" in caplog.text
    assert check_origin(scope("https://evil.example"), app.settings)
