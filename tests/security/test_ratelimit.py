"""Rate limits and the login throttle on the memory and Redis backends: brute force hits
429 with Retry-After, budgets are shared or separate as declared, Redis is atomic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec
import pytest

from tidal import Request, Router, Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.http.errors import Unauthorized
from tidal.security import LoginThrottle, rate_limit
from tidal.security.ratelimit import Rate, client_ip, get_rate_limit_backend
from tidal.testing import TestClient

AppFactory = Callable[..., Tidal]


class Credentials(msgspec.Struct):
    username: str
    password: str


def limited_routes(app: Tidal) -> Tidal:
    search_budget = rate_limit("3/minute")
    per_user = rate_limit("2/minute", key=lambda request: request.headers.get("x-user"))
    throttle = LoginThrottle(per_account="5/15minutes", per_ip="20/hour")

    @app.get("/search", dependencies=[search_budget])
    async def search() -> str:
        return "results"

    @app.get("/suggest", dependencies=[search_budget])  # the same budget as /search
    async def suggest() -> str:
        return "suggestions"

    @app.get("/per-user", dependencies=[per_user])
    async def by_user() -> str:
        return "ok"

    group = Router("/api", dependencies=[rate_limit("2/minute", name="api")])

    @group.get("/a")
    async def api_a() -> str:
        return "a"

    @group.get("/b")
    async def api_b() -> str:
        return "b"

    app.include(group)

    @app.post("/login")
    async def login(request: Request, credentials: Credentials) -> dict[str, bool]:
        await throttle.attempt(request, credentials.username)
        if credentials.password != "correct horse battery staple":
            raise Unauthorized("Wrong username or password.")
        await throttle.succeeded(request, credentials.username)
        return {"ok": True}

    return app


async def test_limit_hits_429_with_retry_after(secure_app: AppFactory) -> None:
    app = limited_routes(secure_app())
    async with TestClient(app) as client:
        statuses = [(await client.get("/search")).status_code for _ in range(3)]
        refused = await client.get("/search")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 19 <= int(refused.headers["retry-after"]) <= 20  # one request per 20 s refills
    assert refused.json()["detail"].startswith("Too many requests: the limit here is 3/minute.")


async def test_budgets_are_shared_only_when_declared(secure_app: AppFactory) -> None:
    app = limited_routes(secure_app())
    async with TestClient(app) as client:
        assert [(await client.get(p)).status_code for p in ("/search", "/suggest", "/search")] == [
            200,
            200,
            200,
        ]
        assert (await client.get("/suggest")).status_code == 429
        assert (await client.get("/api/a")).status_code == 200  # another budget
        assert (await client.get("/api/b")).status_code == 200
        assert (await client.get("/api/a")).status_code == 429  # the group shares one


async def test_custom_key(secure_app: AppFactory) -> None:
    app = limited_routes(secure_app())
    async with TestClient(app) as client:
        ada = [(await client.get("/per-user", headers={"x-user": "ada"})).status_code]
        ada += [(await client.get("/per-user", headers={"x-user": "ada"})).status_code]
        ada += [(await client.get("/per-user", headers={"x-user": "ada"})).status_code]
        bob = (await client.get("/per-user", headers={"x-user": "bob"})).status_code
        anonymous = [(await client.get("/per-user")).status_code for _ in range(5)]
    assert ada == [200, 200, 429]
    assert bob == 200
    assert anonymous == [200] * 5  # key None: not limited


async def test_password_brute_force_hits_429(secure_app: AppFactory) -> None:
    app = limited_routes(secure_app())
    guesses = ["123456", "password", "admin", "letmein", "qwerty", "dragon", "monkey"]
    async with TestClient(app) as client:
        statuses = [
            (await client.post("/login", json={"username": "ada", "password": g})).status_code
            for g in guesses
        ]
        right_password = await client.post(
            "/login", json={"username": "ADA ", "password": "correct horse battery staple"}
        )
        other_account = await client.post(
            "/login", json={"username": "bob", "password": "correct horse battery staple"}
        )
    assert statuses == [401] * 5 + [429] * 2
    # Throttled means throttled: even the right password is not checked (case and spaces
    # in the account name do not open a fresh budget).
    assert right_password.status_code == 429
    assert 170 <= int(right_password.headers["retry-after"]) <= 180
    assert other_account.status_code == 200


async def test_success_resets_the_account(secure_app: AppFactory) -> None:
    app = limited_routes(secure_app())
    async with TestClient(app) as client:
        for _ in range(4):
            await client.post("/login", json={"username": "ada", "password": "typo"})
        ok = await client.post(
            "/login", json={"username": "ada", "password": "correct horse battery staple"}
        )
        after = [
            (await client.post("/login", json={"username": "ada", "password": "x"})).status_code
            for _ in range(5)
        ]
    assert ok.status_code == 200
    assert after == [401] * 5


async def test_per_ip_limit_across_accounts(secure_app: AppFactory) -> None:
    app = limited_routes(secure_app())
    async with TestClient(app) as client:
        statuses = [
            (
                await client.post("/login", json={"username": f"user{i}", "password": "123456"})
            ).status_code
            for i in range(21)
        ]
    assert statuses == [401] * 20 + [429]  # credential stuffing from one address


async def test_limit_refills(secure_app: AppFactory) -> None:
    app = secure_app()

    @app.get("/fast", dependencies=[rate_limit("2/second")])
    async def fast() -> str:
        return "ok"

    async with TestClient(app) as client:
        first = [(await client.get("/fast")).status_code for _ in range(3)]
        await asyncio.sleep(0.6)
        later = (await client.get("/fast")).status_code
    assert first == [200, 200, 429]
    assert later == 200


async def test_backend_is_atomic_under_concurrency(secure_app: AppFactory) -> None:
    app = secure_app()
    async with TestClient(app):
        backend = get_rate_limit_backend(app)
        results = await asyncio.gather(
            *(backend.hit("burst", Rate.parse("10/minute")) for _ in range(40))
        )
        peek = await backend.hit("burst", Rate.parse("10/minute"), peek=True)
    assert sum(r.allowed for r in results) == 10
    assert sorted(r.remaining for r in results if r.allowed) == list(range(10))
    assert not peek.allowed
    assert 0 < peek.retry_after <= 6


async def test_rate_limiting_off_is_logged(
    secure_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = limited_routes(secure_app(rate_limit_enabled=False))
    with caplog.at_level(logging.WARNING, logger="tidal.security"):
        async with TestClient(app) as client:
            statuses = {(await client.get("/search")).status_code for _ in range(10)}
    assert statuses == {200}
    assert "Rate limiting is OFF (TIDAL_RATE_LIMIT_ENABLED=false)" in caplog.text


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/minute", Rate(10, 60)),
        ("5/15minutes", Rate(5, 900)),
        ("5 / 15 minutes", Rate(5, 900)),
        ("100 per hour", Rate(100, 3600)),
        ("3/s", Rate(3, 1)),
        ("1000/day", Rate(1000, 86400)),
        ("2/2h", Rate(2, 7200)),
    ],
)
def test_rate_parsing(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["10", "0/minute", "ten/minute", "10/fortnight", "10/0s"])
def test_bad_rates_fail_at_declaration(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'10/minute'|empty period"):
        rate_limit(text)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
        ("testclient", "testclient"),
    ],
)
def test_client_ip_groups_ipv6_by_network(address: str, key: str) -> None:
    request = Request({"type": "http", "client": (address, 1), "headers": []})
    assert client_ip(request) == key
