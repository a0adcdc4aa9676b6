"""Bare asyncpg on Starlette for the TechEmpower database workloads: the floor the Tidal
ORM peer is measured against. Hand-written SQL, one asyncpg pool, Jinja2 for fortunes, and
Starlette's own response classes, as a Starlette user writing raw SQL would.

The pool has ``BENCH_DB_POOL_SIZE`` connections (the harness sets it to Tidal's default pool
size), so both peers get the same share of PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from random import randint, sample

import asyncpg
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

URL = os.environ.get(
    "TIDAL_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
).replace("postgresql+asyncpg://", "postgresql://")
POOL_SIZE = int(os.environ.get("BENCH_DB_POOL_SIZE", "10"))
SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
UPDATE_WORLD = "UPDATE world SET randomnumber = $2 WHERE id = $1"

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "db_world" / "templates"),
    autoescape=True,
)
fortunes_template = templates.get_template("fortunes.html")
pool: asyncpg.Pool | None = None


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(URL, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        yield
    finally:
        await pool.close()


def count(request: Request) -> int:
    try:
        return min(max(int(request.query_params.get("queries", "1")), 1), 500)
    except ValueError:
        return 1


async def single_query(request: Request) -> JSONResponse:
    assert pool is not None
    async with pool.acquire() as connection:
        row = await connection.fetchrow(SELECT_WORLD, randint(1, 10000))
    return JSONResponse({"id": row["id"], "randomNumber": row["randomnumber"]})


async def queries(request: Request) -> JSONResponse:
    assert pool is not None
    worlds = []
    async with pool.acquire() as connection:
        statement = await connection.prepare(SELECT_WORLD)
        for ident in sample(range(1, 10001), count(request)):
            row = await statement.fetchrow(ident)
            worlds.append({"id": row["id"], "randomNumber": row["randomnumber"]})
    return JSONResponse(worlds)


async def updates(request: Request) -> JSONResponse:
    assert pool is not None
    worlds = []
    async with pool.acquire() as connection:
        statement = await connection.prepare(SELECT_WORLD)
        for ident in sorted(sample(range(1, 10001), count(request))):
            row = await statement.fetchrow(ident)
            worlds.append({"id": row["id"], "randomNumber": randint(1, 10000)})
        await connection.executemany(
            UPDATE_WORLD, [(world["id"], world["randomNumber"]) for world in worlds]
        )
    return JSONResponse(worlds)


async def fortunes(request: Request) -> HTMLResponse:
    assert pool is not None
    async with pool.acquire() as connection:
        rows = [tuple(row) for row in await connection.fetch("SELECT id, message FROM fortune")]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    items = [{"id": ident, "message": message} for ident, message in rows]
    return HTMLResponse(fortunes_template.render(fortunes=items))


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json_(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


app = Starlette(
    routes=[
        Route("/db", single_query),
        Route("/queries", queries),
        Route("/updates", updates),
        Route("/fortunes", fortunes),
        Route("/plaintext", plaintext),
        Route("/json", json_),
    ],
    lifespan=lifespan,
)
