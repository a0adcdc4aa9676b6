"""Bare ASGI peer: the ceiling a framework on the same server could reach.

Hand-written on purpose, with no routing table or response objects, so the gap
between this and a framework is the framework's own overhead. The JSON body is
still encoded per request because TechEmpower forbids caching serialization.
Database endpoints use an asyncpg pool opened in the lifespan, one connection per
request and prepared statements (asyncpg caches them per connection); ``/cpu`` runs
in a process pool through ``run_in_executor``, as the asyncio docs advise for
CPU-bound work.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ProcessPoolExecutor
from html import escape
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import msgspec

from bench.peers.cpu_work import cpu_result
from bench.peers.params import queries_count

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_encode = msgspec.json.encode
_randint = random.randint

_PLAINTEXT_BODY = b"Hello, World!"
_PLAINTEXT_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_PLAINTEXT_BODY)).encode()),
    ],
}
_NOT_FOUND_BODY = b"Not Found"
_NOT_FOUND_START: Message = {
    "type": "http.response.start",
    "status": 404,
    "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_NOT_FOUND_BODY)).encode()),
    ],
}
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")
_HTML_CONTENT_TYPE = (b"content-type", b"text/html; charset=utf-8")

_SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
_SELECT_FORTUNES = "SELECT id, message FROM fortune"
_UPDATE_WORLD = "UPDATE world SET randomnumber = $2 WHERE id = $1"
_FORTUNES_HEAD = (
    "<!DOCTYPE html>\n<html>\n<head><title>Fortunes</title></head>\n<body>\n<table>\n"
    "<tr><th>id</th><th>message</th></tr>\n"
)
_FORTUNES_TAIL = "</table>\n</body>\n</html>\n"

_state: dict[str, Any] = {}


async def _send_body(send: Send, content_type: tuple[bytes, bytes], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [content_type, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _queries(scope: Scope) -> int:
    for key, value in parse_qsl(scope["query_string"].decode("latin-1")):
        if key == "queries":
            return queries_count(value)
    return 1


async def _db(send: Send) -> None:
    pool: asyncpg.Pool = _state["pool"]
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_SELECT_WORLD, _randint(1, 10_000))
    await _send_body(send, _JSON_CONTENT_TYPE, _encode({"id": row[0], "randomNumber": row[1]}))


async def _queries_endpoint(scope: Scope, send: Send) -> None:
    count = _queries(scope)
    pool: asyncpg.Pool = _state["pool"]
    worlds = []
    async with pool.acquire() as conn:
        statement = await conn.prepare(_SELECT_WORLD)
        for _ in range(count):
            row = await statement.fetchrow(_randint(1, 10_000))
            worlds.append({"id": row[0], "randomNumber": row[1]})
    await _send_body(send, _JSON_CONTENT_TYPE, _encode(worlds))


async def _updates(scope: Scope, send: Send) -> None:
    count = _queries(scope)
    pool: asyncpg.Pool = _state["pool"]
    worlds = []
    async with pool.acquire() as conn:
        statement = await conn.prepare(_SELECT_WORLD)
        for _ in range(count):
            row = await statement.fetchrow(_randint(1, 10_000))
            worlds.append({"id": row[0], "randomNumber": _randint(1, 10_000)})
        # Rows locked in id order, so concurrent requests cannot deadlock.
        pairs = sorted((w["id"], w["randomNumber"]) for w in worlds)
        async with conn.transaction():
            await conn.executemany(_UPDATE_WORLD, pairs)
    await _send_body(send, _JSON_CONTENT_TYPE, _encode(worlds))


async def _fortunes(send: Send) -> None:
    pool: asyncpg.Pool = _state["pool"]
    async with pool.acquire() as conn:
        rows = await conn.fetch(_SELECT_FORTUNES)
    fortunes = [(row[0], row[1]) for row in rows]
    fortunes.append((0, "Additional fortune added at request time."))
    fortunes.sort(key=lambda f: f[1])
    html = "".join(
        [
            _FORTUNES_HEAD,
            *(f"<tr><td>{i}</td><td>{escape(m, quote=True)}</td></tr>\n" for i, m in fortunes),
            _FORTUNES_TAIL,
        ]
    )
    await _send_body(send, _HTML_CONTENT_TYPE, html.encode())


async def _cpu(send: Send) -> None:
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(_state["processes"], cpu_result)
    await _send_body(send, _JSON_CONTENT_TYPE, _encode(result))


async def _startup() -> None:
    _state["pool"] = await asyncpg.create_pool(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench"),
        min_size=1,
        max_size=int(os.environ.get("BENCH_DB_POOL_SIZE", "10")),
    )
    _state["processes"] = ProcessPoolExecutor()


async def _shutdown() -> None:
    pool = _state.pop("pool", None)
    if pool is not None:
        await pool.close()
    processes = _state.pop("processes", None)
    if processes is not None:
        processes.shutdown(cancel_futures=True)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the benchmark endpoints; everything else is a 404."""
    if scope["type"] == "http":
        path = scope["path"]
        if scope["method"] != "GET":
            path = ""
        if path == "/plaintext":
            await send(_PLAINTEXT_START)
            await send({"type": "http.response.body", "body": _PLAINTEXT_BODY})
        elif path == "/json":
            await _send_body(send, _JSON_CONTENT_TYPE, _encode({"message": "Hello, World!"}))
        elif path == "/db":
            await _db(send)
        elif path == "/queries":
            await _queries_endpoint(scope, send)
        elif path == "/fortunes":
            await _fortunes(send)
        elif path == "/updates":
            await _updates(scope, send)
        elif path == "/cpu":
            await _cpu(send)
        else:
            await send(_NOT_FOUND_START)
            await send({"type": "http.response.body", "body": _NOT_FOUND_BODY})
    elif scope["type"] == "lifespan":
        # Answer lifespan properly so servers don't log a fallback warning.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await _startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
