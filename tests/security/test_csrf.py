"""CSRF attack suite: missing, wrong and cross-session tokens, cross-origin posts, the
Referer check on HTTPS, exemptions, and the body replayed intact to the handler."""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
from collections.abc import Callable
from unittest import mock

import msgspec
import pytest

from tidal import Request, Tidal, WebSocket
from tidal.security import CsrfToken, csrf_exempt, get_csrf_token
from tidal.security.csrf import mask, tokens_match, unmask
from tidal.sessions import HttpSession
from tidal.testing import TestClient, WebSocketRejected

AppFactory = Callable[..., Tidal]


class Card(msgspec.Struct):
    title: str


def csrf_routes(app: Tidal) -> Tidal:
    @app.get("/form")
    async def form(csrf: CsrfToken) -> dict[str, str]:
        return {"token": csrf}

    @app.get("/token-by-helper")
    async def by_helper(request: Request) -> dict[str, str]:
        return {"token": await get_csrf_token(request)}

    @app.post("/transfer")
    async def transfer(request: Request) -> dict[str, str | None]:
        data = await request.form()
        amount = data.get("amount")
        return {"amount": amount if isinstance(amount, str) else None}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int | str]:
        async with request.form() as data:
            upload = data["file"]
            assert not isinstance(upload, str)
            return {"size": len(await upload.read()), "note": str(data["note"])}

    @app.post("/api/cards", status_code=201)
    async def create_card(card: Card) -> Card:
        return card

    @app.route("/api/cards/1", methods=["PUT", "PATCH", "DELETE"])
    async def change_card() -> dict[str, bool]:
        return {"changed": True}

    @app.get("/login")
    async def login(session: HttpSession) -> None:
        await session.rotate()  # what the auth app's login view does
        session["user_id"] = 1

    @app.post("/hooks/payment")
    @csrf_exempt
    async def payment_hook(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("joined")
        await websocket.close()

    @app.websocket("/ws-public")
    @csrf_exempt
    async def public_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("public")
        await websocket.close()

    return app


async def start_session(client: TestClient) -> str:
    """Visit the form page (which starts the session) and return its token."""
    response = await client.get("/form")
    assert response.status_code == 200
    assert client.cookies.get("tidal_session")
    token: str = response.json()["token"]
    return token


async def test_form_post_with_token(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        token = await start_session(client)
        response = await client.post("/transfer", data={"csrf_token": token, "amount": "100"})
    assert response.status_code == 200, response.text
    assert response.json() == {"amount": "100"}  # the body reached the handler intact


async def test_header_token_for_scripts(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        token = await start_session(client)
        response = await client.post(
            "/api/cards", json={"title": "Ship it"}, headers={"x-csrf-token": token}
        )
    assert response.status_code == 201
    assert response.json() == {"title": "Ship it"}


async def test_every_render_differs_and_all_verify(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        tokens = {await start_session(client) for _ in range(3)}
        tokens.add((await client.get("/token-by-helper")).json()["token"])
        assert len(tokens) == 4
        for token in tokens:
            response = await client.post("/transfer", data={"csrf_token": token, "amount": "1"})
            assert response.status_code == 200
    assert len({unmask(t) for t in tokens}) == 1  # one secret behind all of them


async def test_missing_token(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        await start_session(client)
        api = await client.post("/api/cards", json={"title": "forged"})
        page = await client.post(
            "/transfer", data={"amount": "1000000"}, headers={"accept": "text/html"}
        )
    assert api.status_code == 403
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["detail"].startswith("CSRF check failed: the CSRF token is missing.")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "CSRF token is missing" in page.text
    assert "X-CSRF-Token" in page.text  # says what to do


def forged_tokens(real: str) -> list[str]:
    flipped = real[:10] + ("A" if real[10] != "A" else "B") + real[11:]
    return [
        base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode(),  # well-formed
        flipped,
        real[:-1],
        real + real,
        "",
        "null",
        "' OR '1'='1",
        "<script>alert(1)</script>",
        "%00" * 30,
        "=" * 86,
    ]


async def test_wrong_tokens(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        real = await start_session(client)
        for forged in forged_tokens(real):
            response = await client.post("/transfer", data={"csrf_token": forged, "amount": "1"})
            assert response.status_code == 403, forged
            assert "not valid for this session" in response.json()["detail"]
            response = await client.post(
                "/api/cards", json={"title": "x"}, headers={"x-csrf-token": forged}
            )
            assert response.status_code == 403, forged


async def test_token_of_another_session(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as attacker:
        attackers_token = await start_session(attacker)
        async with TestClient(app, lifespan=False) as victim:
            await start_session(victim)
            response = await victim.post(
                "/transfer", data={"csrf_token": attackers_token, "amount": "1000"}
            )
    assert response.status_code == 403
    assert "comes from another session" in response.json()["detail"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://evil.example",
        "null",
        "http://testserver.evil.example",
        "http://evil.example:80@testserver",
        "http://testserver:8080",
        "file://",
        "javascript:alert(1)",
    ],
)
async def test_cross_origin_form_post(secure_app: AppFactory, origin: str) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        token = await start_session(client)
        response = await client.post(
            "/transfer", data={"csrf_token": token, "amount": "1"}, headers={"origin": origin}
        )
    assert response.status_code == 403
    assert "not of this site (http://testserver)" in response.json()["detail"]


async def test_same_origin_post(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        token = await start_session(client)
        for origin in ("http://testserver", "HTTP://TESTSERVER:80", "https://testserver"):
            response = await client.post(
                "/transfer", data={"csrf_token": token}, headers={"origin": origin}
            )
            assert response.status_code == 200, origin


async def test_https_site_checks_origin_scheme_and_referer(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app(https=True))
    async with TestClient(app, base_url="https://testserver") as client:
        token = await start_session(client)
        data = {"csrf_token": token}
        plain_http_page = await client.post(
            "/transfer", data=data, headers={"origin": "http://testserver"}
        )
        no_source = await client.post("/transfer", data=data)
        evil_referer = await client.post(
            "/transfer", data=data, headers={"referer": "https://evil.example/testserver/"}
        )
        good_referer = await client.post(
            "/transfer", data=data, headers={"referer": "https://testserver/form?x=1"}
        )
    assert plain_http_page.status_code == 403
    assert no_source.status_code == 403
    assert "neither an Origin nor a Referer" in no_source.json()["detail"]
    assert evil_referer.status_code == 403
    assert "Referer is a page of another site" in evil_referer.json()["detail"]
    assert good_referer.status_code == 200


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://x.partner.example", True),
        ("https://a.b.partner.example", True),
        ("https://partner.example", False),
        ("http://x.partner.example", False),
        ("https://app.example.com.evil.example", False),
        ("https://evilpartner.example", False),
    ],
)
async def test_trusted_origins(secure_app: AppFactory, origin: str, allowed: bool) -> None:
    app = csrf_routes(
        secure_app(csrf_trusted_origins=["https://app.example.com", "https://*.partner.example"])
    )
    async with TestClient(app) as client:
        token = await start_session(client)
        response = await client.post(
            "/transfer", data={"csrf_token": token}, headers={"origin": origin}
        )
    assert (response.status_code == 200) is allowed


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_all_unsafe_methods_are_checked(secure_app: AppFactory, method: str) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        token = await start_session(client)
        refused = await client.request(method, "/api/cards/1")
        accepted = await client.request(method, "/api/cards/1", headers={"x-csrf-token": token})
    assert refused.status_code == 403
    assert accepted.status_code == 200


async def test_bearer_requests_are_exempt_basic_are_not(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        await start_session(client)
        bearer = await client.post(
            "/api/cards", json={"title": "t"}, headers={"authorization": "Bearer abc.def"}
        )
        basic = await client.post(
            "/api/cards", json={"title": "t"}, headers={"authorization": "Basic YTpi"}
        )
    assert bearer.status_code == 201
    assert basic.status_code == 403


async def test_cookieless_clients(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app(cors_origins=["https://partner.example"]))
    async with TestClient(app) as client:
        api = await client.post("/api/cards", json={"title": "from a script"})
        login_csrf = await client.post(
            "/transfer", data={"user": "attacker"}, headers={"origin": "https://evil.example"}
        )
        partner = await client.post(
            "/api/cards", json={"title": "t"}, headers={"origin": "https://partner.example"}
        )
        await start_session(client)
        partner_with_cookie = await client.post(
            "/api/cards", json={"title": "t"}, headers={"origin": "https://partner.example"}
        )
    assert api.status_code == 201  # no cookie, no ambient authority, nothing to forge
    assert login_csrf.status_code == 403  # cross-site form post even without a session
    assert partner.status_code == 201  # a CORS origin, without credentials
    assert partner_with_cookie.status_code == 403  # credentials need csrf_trusted_origins


async def test_exempt_route(secure_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    app = csrf_routes(secure_app())
    with caplog.at_level(logging.WARNING, logger="tidal.security"):
        async with TestClient(app) as client:
            await start_session(client)
            response = await client.post(
                "/hooks/payment", content=b"{}", headers={"origin": "https://stripe.example"}
            )
    assert response.status_code == 200
    assert response.json() == {"received": 2}
    assert "CSRF protection is OFF for POST /hooks/payment" in caplog.text
    assert "test_csrf.csrf_routes.<locals>.payment_hook" in caplog.text


async def test_old_token_dies_with_rotation(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        before_login = await start_session(client)
        await client.get("/login")
        response = await client.post("/transfer", data={"csrf_token": before_login})
        assert response.status_code == 403
        fresh = await start_session(client)
        response = await client.post("/transfer", data={"csrf_token": fresh})
    assert response.status_code == 200


async def test_unknown_session(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    token = mask(base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode())
    async with TestClient(app, cookies={"tidal_session": "Z" * 43}) as client:
        response = await client.post("/transfer", data={"csrf_token": token})
    assert response.status_code == 403
    assert "no CSRF token was issued" in response.json()["detail"]


async def test_multipart_upload_with_token(secure_app: AppFactory) -> None:
    """httpx sends the fields before the files, as forms do (test_csrf_multipart.py has a
    token after the file)."""
    app = csrf_routes(secure_app())
    payload = secrets.token_bytes(200_000)
    async with TestClient(app) as client:
        token = await start_session(client)
        files = {"file": ("board.bin", payload, "application/octet-stream")}
        ok = await client.post("/upload", data={"note": "hi", "csrf_token": token}, files=files)
        refused = await client.post("/upload", data={"note": "hi"}, files=files)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"size": 200_000, "note": "hi"}
    assert refused.status_code == 403


async def test_oversized_form_is_refused_before_buffering(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app(max_body_size=1000))
    async with TestClient(app) as client:
        token = await start_session(client)
        response = await client.post("/transfer", data={"csrf_token": token, "blob": "x" * 5000})
    assert response.status_code == 413


async def test_tokens_are_compared_in_constant_time(secure_app: AppFactory) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        token = await start_session(client)
        with mock.patch("hmac.compare_digest", wraps=hmac.compare_digest) as spy:
            good = await client.post("/transfer", data={"csrf_token": token})
            assert spy.call_count == 1
            bad = await client.post("/transfer", data={"csrf_token": token[:-2] + "AA"})
            assert spy.call_count == 2
    assert (good.status_code, bad.status_code) == (200, 403)


def test_masking_round_trip() -> None:
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    other = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    token = mask(secret)
    assert len(token) == 86
    assert token != mask(secret)
    assert tokens_match(token, secret)
    assert not tokens_match(token, other)
    assert not tokens_match(secret, secret)  # the bare secret is not a token


async def test_safe_requests_cost_no_store_lookup(secure_app: AppFactory) -> None:
    from tests.sessions.support import CountingStore
    from tidal.sessions import set_session_store
    from tidal.sessions.stores import create_store

    app = csrf_routes(secure_app())
    store = CountingStore(create_store(app))
    set_session_store(app, store)

    @app.get("/plain")
    async def plain() -> str:
        return "ok"

    async with TestClient(app) as client:
        await start_session(client)
        store.calls.clear()
        for method in ("GET", "HEAD", "OPTIONS"):
            await client.request(method, "/plain")
        await client.post("/api/cards", json={"title": "t"}, headers={"authorization": "Bearer x"})
    assert store.calls == {}


async def test_csrf_off_is_explicit_and_logged(
    secure_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = csrf_routes(secure_app(csrf_enabled=False))
    with caplog.at_level(logging.WARNING, logger="tidal.security"):
        async with TestClient(app) as client:
            await start_session(client)
            response = await client.post("/transfer", data={"amount": "5"})
    assert response.status_code == 200
    assert "CSRF protection is OFF (TIDAL_CSRF_ENABLED=false)" in caplog.text


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver.evil"])
async def test_cross_site_websocket_is_refused(secure_app: AppFactory, origin: str) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        await start_session(client)
        with pytest.raises(WebSocketRejected) as info:
            async with client.websocket_connect("/ws", headers={"origin": origin}):
                pass
        assert info.value.code == 1008
        async with client.websocket_connect(
            "/ws-public", headers={"origin": origin}
        ) as public:  # exempt route
            assert await public.receive_text() == "public"


@pytest.mark.parametrize("headers", [{"origin": "http://testserver"}, {}])
async def test_same_site_websocket_is_accepted(
    secure_app: AppFactory, headers: dict[str, str]
) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client, client.websocket_connect("/ws", headers=headers) as ws:
        assert await ws.receive_text() == "joined"


@pytest.mark.parametrize(
    "body",
    [
        b"garbage",
        b"--xx\r\n\r\n\r\n",
        b'--xx\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nunterminated',
        b"--xx\r\n" + b"X" * 20_000,
    ],
)
async def test_malformed_multipart_is_refused_cleanly(secure_app: AppFactory, body: bytes) -> None:
    app = csrf_routes(secure_app())
    async with TestClient(app) as client:
        await start_session(client)
        response = await client.post(
            "/transfer", content=body, headers={"content-type": "multipart/form-data; boundary=xx"}
        )
    assert response.status_code == 403
    assert "token is missing" in response.json()["detail"]


async def test_an_application_provider_wins() -> None:
    from tests.conftest import make_settings
    from tidal.security import install

    async def fixed_token() -> CsrfToken:
        return CsrfToken("fixed")

    app = Tidal(settings=make_settings(), providers={CsrfToken: fixed_token})
    install(app)

    @app.get("/token")
    async def token(csrf: CsrfToken) -> str:
        return csrf

    async with TestClient(app) as client:
        assert (await client.get("/token")).text == "fixed"
