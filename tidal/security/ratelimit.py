"""Rate limits per route and a login throttle, in process memory or in Redis.

    @app.post("/search", dependencies=[rate_limit("10/minute")])
    async def search(...): ...

A limit is a guard (a route dependency): over the limit, the request gets ``429 Too Many
Requests`` with ``Retry-After`` before the handler runs. One ``rate_limit(...)`` object is
one budget: put it on several routes (or on a ``Router``) and they share it.

The algorithm is GCRA (the generic cell rate algorithm, a leaky bucket stored as one
timestamp per key): ``"10/minute"`` allows a burst of 10, then one more every 6 seconds. It
has no fixed-window edge (where twice the limit fits around a window boundary), needs one
key and one round trip per check, and gives an exact ``Retry-After``. In Redis it runs as one
Lua script using the Redis clock, so it is atomic across every worker and host.
"""

from __future__ import annotations

import abc
import hashlib
import inspect
import ipaddress
import math
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NamedTuple

from tidal.exceptions import ImproperlyConfigured
from tidal.http.errors import TooManyRequests
from tidal.http.requests import Request

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from tidal.app import Tidal
    from tidal.conf.settings import Settings

STATE_KEY = "tidal.ratelimit.backend"
HOOK_KEY = "tidal.ratelimit.close_hook"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(
    r"\s*(?P<limit>\d+)\s*(?:/|per)\s*(?P<count>\d+)?\s*"
    r"(?P<unit>s|sec|second|m|min|minute|h|hour|d|day)s?\s*",
    re.IGNORECASE,
)
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.:@-]{1,100}")
KeyFunc = Callable[[Request], "str | Awaitable[str | None] | None"]


class Rate(NamedTuple):
    """``limit`` requests per ``period`` seconds."""

    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/minute"``, ``"5/15 minutes"``, ``"100 per hour"``, ``"3/s"``."""
        match = _RATE.fullmatch(text)
        if match is None or int(match.group("limit")) < 1:
            raise ImproperlyConfigured(
                f"Rate {text!r} is not understood; write it like '10/minute', "
                "'5/15minutes', '100/hour' or '1000/day' (limit >= 1)."
            )
        count = int(match.group("count") or 1)
        period = count * _UNITS[match.group("unit")[0].lower()]
        if period < 1:
            raise ImproperlyConfigured(f"Rate {text!r} has an empty period.")
        return cls(int(match.group("limit")), period)

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}s"


class Decision(NamedTuple):
    """The outcome of one check: allowed or not, seconds to wait, requests left now."""

    allowed: bool
    retry_after: float
    remaining: int


class RateLimitBackend(abc.ABC):
    """Where the GCRA timestamps live. ``hit`` counts one request unless ``peek``."""

    @abc.abstractmethod
    async def hit(self, key: str, rate: Rate, *, peek: bool = False) -> Decision: ...

    @abc.abstractmethod
    async def reset(self, key: str) -> None: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections at shutdown."""


def gcra(tat: int | None, now: int, rate: Rate, scale: int) -> tuple[Decision, int]:
    """One GCRA step in integer time units (``scale`` per second): the decision and the
    new theoretical arrival time to store when allowed."""
    period = rate.period * scale
    emission = period // rate.limit
    tat = now if tat is None or tat < now else tat
    new_tat = tat + emission
    allow_at = new_tat - period
    if allow_at > now:
        return Decision(False, (allow_at - now) / scale, 0), tat
    return Decision(True, 0.0, (period - (new_tat - now)) // emission), new_tat


class MemoryRateLimitBackend(RateLimitBackend):
    """In-process limits: exact for one process; each worker process counts on its own."""

    _SWEEP_EVERY = 4096

    def __init__(self, *, prefix: str = "") -> None:
        self.prefix = prefix
        self._tat: dict[str, int] = {}
        self._hits = 0

    async def hit(self, key: str, rate: Rate, *, peek: bool = False) -> Decision:
        now = time.monotonic_ns()
        decision, tat = gcra(self._tat.get(self.prefix + key), now, rate, 1_000_000_000)
        if decision.allowed and not peek:
            self._tat[self.prefix + key] = tat
            self._hits += 1
            if self._hits % self._SWEEP_EVERY == 0:
                self._tat = {k: v for k, v in self._tat.items() if v > now}
        return decision

    async def reset(self, key: str) -> None:
        self._tat.pop(self.prefix + key, None)


# KEYS[1]: the bucket; ARGV: emission interval and period in microseconds, peek flag.
# The Redis clock (TIME) is the one clock every worker and host agrees on.
_GCRA_LUA = """
local emission = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + emission
local allow_at = new_tat - period
if allow_at > now then
  return {0, allow_at - now, 0}
end
if ARGV[3] ~= '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
             math.ceil((new_tat - now) / 1000))
end
return {1, 0, math.floor((period - (new_tat - now)) / emission)}
"""


class RedisRateLimitBackend(RateLimitBackend):
    """Limits shared by every worker and host, one Redis key per bucket.

    Args:
        client: a ``redis.asyncio.Redis`` client, or a URL to create one from (then the
            backend owns it and closes it at shutdown).
        prefix: prepended to every key.
    """

    def __init__(self, client: Redis | str, *, prefix: str = "tidal:ratelimit:") -> None:
        if isinstance(client, str):
            from redis.asyncio import Redis as RedisClient

            self.client: Redis = RedisClient.from_url(client)
            self._owns_client = True
        else:
            self.client = client
            self._owns_client = False
        self.prefix = prefix
        self._script = self.client.register_script(_GCRA_LUA)

    async def hit(self, key: str, rate: Rate, *, peek: bool = False) -> Decision:
        period = rate.period * 1_000_000
        result = await self._script(
            keys=[self.prefix + key], args=[period // rate.limit, period, "1" if peek else "0"]
        )
        allowed, wait, remaining = (int(v) for v in result)
        return Decision(bool(allowed), wait / 1_000_000, remaining)

    async def reset(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()


def backend_name(settings: Settings) -> str:
    name = settings.rate_limit_backend
    if name == "auto":
        return "redis" if settings.redis_url else "memory"
    return name


def create_backend(settings: Settings) -> RateLimitBackend:
    name = backend_name(settings)
    if name == "memory":
        return MemoryRateLimitBackend(prefix=settings.rate_limit_key_prefix)
    if name == "redis":
        if not settings.redis_url:
            raise ImproperlyConfigured(
                "TIDAL_RATE_LIMIT_BACKEND=redis needs TIDAL_REDIS_URL "
                "(e.g. redis://localhost:6379/0)."
            )
        return RedisRateLimitBackend(settings.redis_url, prefix=settings.rate_limit_key_prefix)
    raise ImproperlyConfigured(
        f"TIDAL_RATE_LIMIT_BACKEND={settings.rate_limit_backend!r} is not a backend; use "
        "auto, memory or redis."
    )


def get_rate_limit_backend(app: Tidal) -> RateLimitBackend:
    """The application's backend, created from the settings on first use."""
    backend = app.state.get(STATE_KEY)
    if backend is None:
        backend = app.state[STATE_KEY] = create_backend(app.settings)
        _close_at_shutdown(app)
    assert isinstance(backend, RateLimitBackend)
    return backend


def set_rate_limit_backend(app: Tidal, backend: RateLimitBackend) -> None:
    """Use ``backend`` instead of the one the settings select; closed at shutdown."""
    app.state[STATE_KEY] = backend
    _close_at_shutdown(app)


def _close_at_shutdown(app: Tidal) -> None:
    if not app.state.get(HOOK_KEY):
        app.state[HOOK_KEY] = True

        async def close() -> None:
            await close_rate_limit_backend(app)

        app.on_shutdown(close)


async def close_rate_limit_backend(app: Tidal) -> None:
    backend = app.state.pop(STATE_KEY, None)
    if isinstance(backend, RateLimitBackend):
        await backend.close()


def client_ip(request: Request) -> str:
    """The client's address; IPv6 clients by their /64 network, since one host usually
    has the whole /64. Behind a proxy, run uvicorn with ``--proxy-headers`` and
    ``--forwarded-allow-ips`` so this is the client's address, not the proxy's."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def bucket_key(*parts: str) -> str:
    """A store key from its parts; parts that are long or unusual are hashed."""
    safe = [p if _SAFE_KEY.fullmatch(p) else hashlib.sha256(p.encode()).hexdigest() for p in parts]
    return ":".join(safe)


def _retry_header(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def _definition_site() -> str:
    """``module:line`` of the ``rate_limit(...)`` call: the same in every worker process."""
    frame = sys._getframe(2)
    return f"{frame.f_globals.get('__name__', '?')}:{frame.f_lineno}"


def rate_limit(
    rate: str,
    *,
    key: KeyFunc | None = None,
    name: str | None = None,
    backend: RateLimitBackend | None = None,
) -> Callable[[Request], Awaitable[None]]:
    """A guard allowing ``rate`` requests per client (or per ``key(request)``).

    Args:
        rate: like ``"10/minute"``, ``"5/15minutes"``, ``"1000/day"``; checked now, so a
            typo fails at import.
        key: what is limited, from the request (sync or async); default the client IP.
            Returning None lets the request through unlimited (say, for staff).
        name: the budget's name in the store; default the ``module:line`` of this call.
        backend: default the application's (``rate_limit_backend`` setting).

    Returns:
        A dependency for ``dependencies=[...]`` on a route or a ``Router``.
    """
    parsed = Rate.parse(rate)
    budget = name or _definition_site()
    key_func: KeyFunc = key or client_ip

    async def guard(request: Request) -> None:
        app = request.tidal
        if not app.settings.rate_limit_enabled:
            return
        found = key_func(request)
        if inspect.isawaitable(found):
            found = await found
        if found is None:
            return
        store = backend or get_rate_limit_backend(app)
        decision = await store.hit(bucket_key(budget, str(found)), parsed)
        if not decision.allowed:
            raise TooManyRequests(
                f"Too many requests: the limit here is {rate}. Try again in "
                f"{max(1, math.ceil(decision.retry_after))} s.",
                headers=_retry_header(decision.retry_after),
            )

    guard.__name__ = guard.__qualname__ = f"rate_limit({rate!r})"
    guard.rate = parsed  # type: ignore[attr-defined]
    return guard


class LoginThrottle:
    """Slows down password guessing, per client IP and per account.

    The auth app's login view calls ``await throttle.attempt(request, username)`` before
    checking a password (so a throttled attempt never reaches the hasher) and
    ``await throttle.succeeded(request, username)`` after a successful login, which gives
    the account its full budget back. Over either limit, ``attempt`` raises 429 with
    ``Retry-After``, whether or not the password would have been right.

    Args:
        per_account: attempts per account name (case-insensitive), from anywhere.
        per_ip: attempts per client address (IPv6 by /64), on any account.
        name: the budgets' name in the store.
        backend: default the application's.
    """

    def __init__(
        self,
        *,
        per_account: str = "10/15minutes",
        per_ip: str = "100/hour",
        name: str = "login",
        backend: RateLimitBackend | None = None,
    ) -> None:
        self.per_account = Rate.parse(per_account)
        self.per_ip = Rate.parse(per_ip)
        self.name = name
        self.backend = backend

    def _keys(self, request: Request, account: str) -> tuple[str, str]:
        return (
            bucket_key(self.name, "account", account.strip().casefold()),
            bucket_key(self.name, "ip", client_ip(request)),
        )

    def _backend(self, request: Request) -> RateLimitBackend:
        return self.backend or get_rate_limit_backend(request.tidal)

    async def attempt(self, request: Request, account: str) -> None:
        """Count one login attempt; raises ``TooManyRequests`` when over a limit."""
        if not request.tidal.settings.rate_limit_enabled:
            return
        backend = self._backend(request)
        account_key, ip_key = self._keys(request, account)
        by_ip = await backend.hit(ip_key, self.per_ip)
        by_account = await backend.hit(account_key, self.per_account)
        if not (by_ip.allowed and by_account.allowed):
            wait = max(by_ip.retry_after, by_account.retry_after)
            raise TooManyRequests(
                "Too many login attempts. Wait a little before trying again.",
                headers=_retry_header(wait),
            )

    async def succeeded(self, request: Request, account: str) -> None:
        """Forget the account's failed attempts after a successful login."""
        await self._backend(request).reset(self._keys(request, account)[0])


def login_throttle(
    *, per_account: str = "10/15minutes", per_ip: str = "100/hour", name: str = "login"
) -> LoginThrottle:
    """A ``LoginThrottle``; see its docstring."""
    return LoginThrottle(per_account=per_account, per_ip=per_ip, name=name)


__all__ = [
    "Decision",
    "LoginThrottle",
    "MemoryRateLimitBackend",
    "Rate",
    "RateLimitBackend",
    "RedisRateLimitBackend",
    "bucket_key",
    "client_ip",
    "create_backend",
    "gcra",
    "get_rate_limit_backend",
    "login_throttle",
    "rate_limit",
    "set_rate_limit_backend",
]
