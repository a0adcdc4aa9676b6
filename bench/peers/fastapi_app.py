"""Idiomatic FastAPI peer, written the way FastAPI's tutorial shows.

Handlers return dicts and lists (FastAPI encodes them), the pool lives in the
lifespan, HTML comes from ``Jinja2Templates``, and ``/cpu`` is a plain ``def`` path
operation, which FastAPI runs in its thread pool. asyncpg is the driver, as for the
Starlette and bare ASGI peers, so the three differ only in the framework.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates

from bench.peers.cpu_work import cpu_result
from bench.peers.params import queries_count

SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
UPDATE_WORLD = "UPDATE world SET randomnumber = $2 WHERE id = $1"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
pools: dict[str, asyncpg.Pool] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pools["main"] = await asyncpg.create_pool(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench"),
        min_size=1,
        max_size=int(os.environ.get("BENCH_DB_POOL_SIZE", "10")),
    )
    try:
        yield
    finally:
        await pools.pop("main").close()


app = FastAPI(lifespan=lifespan)


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json_() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/db")
async def single_query() -> dict[str, int]:
    async with pools["main"].acquire() as conn:
        row = await conn.fetchrow(SELECT_WORLD, random.randint(1, 10_000))
    return {"id": row["id"], "randomNumber": row["randomnumber"]}


@app.get("/queries")
async def queries(queries: str | None = None) -> list[dict[str, int]]:
    worlds = []
    async with pools["main"].acquire() as conn:
        for _ in range(queries_count(queries)):
            row = await conn.fetchrow(SELECT_WORLD, random.randint(1, 10_000))
            worlds.append({"id": row["id"], "randomNumber": row["randomnumber"]})
    return worlds


@app.get("/updates")
async def updates(queries: str | None = None) -> list[dict[str, int]]:
    worlds = []
    async with pools["main"].acquire() as conn:
        for _ in range(queries_count(queries)):
            row = await conn.fetchrow(SELECT_WORLD, random.randint(1, 10_000))
            worlds.append({"id": row["id"], "randomNumber": random.randint(1, 10_000)})
        async with conn.transaction():
            await conn.executemany(
                UPDATE_WORLD, sorted((w["id"], w["randomNumber"]) for w in worlds)
            )
    return worlds


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(request: Request) -> Any:
    async with pools["main"].acquire() as conn:
        rows = await conn.fetch("SELECT id, message FROM fortune")
    items = [{"id": row["id"], "message": row["message"]} for row in rows]
    items.append({"id": 0, "message": "Additional fortune added at request time."})
    items.sort(key=lambda item: item["message"])
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": items})


@app.get("/cpu")
def cpu() -> dict[str, int]:
    return cpu_result()
