"""Tidal peer for the TechEmpower database workloads, through the ORM, written the way
Tidal's docs tell users to (models in an installed app, ``db: Session`` injected, rows by
``await db.get(World, id)``, changed attributes committed by Tidal, Jinja2 through
``render``). No benchmark-only shortcuts.

The database is ``TIDAL_BENCH_DATABASE_URL`` (default: the local ``test`` database), filled
by the bench harness (``python -m bench setup-db``).
"""

from __future__ import annotations

import os
from random import randint, sample

from sqlalchemy import select

import tidal.db
from bench.peers.db_world.models import Fortune, World
from tidal import Request, Settings, Tidal, render
from tidal.db import Session
from tidal.http.errors import NotFound
from tidal.http.responses import HTMLResponse

URL = os.environ.get(
    "TIDAL_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
)

app = Tidal(
    apps=["bench.peers.db_world"],
    settings=Settings(
        debug=False, secret_key="bench-" + "x" * 50, allowed_hosts=["*"], database_url=URL
    ),
)
tidal.db.install(app)  # a no-op once Tidal() installs the database itself


def count(queries: str) -> int:
    """TechEmpower's rule: 1 for anything not a number, at most 500."""
    try:
        return min(max(int(queries), 1), 500)
    except ValueError:
        return 1


async def find_world(db: Session, ident: int) -> World:
    found = await db.get(World, ident)
    if found is None:
        raise NotFound(f"No world with id {ident}.")
    return found


@app.get("/db")
async def single_query(db: Session) -> dict[str, int]:
    row = await find_world(db, randint(1, 10000))
    return {"id": row.id, "randomNumber": row.randomnumber}


@app.get("/queries")
async def queries(db: Session, queries: str = "1") -> list[dict[str, int]]:
    worlds = []
    for ident in sample(range(1, 10001), count(queries)):
        row = await find_world(db, ident)
        worlds.append({"id": row.id, "randomNumber": row.randomnumber})
    return worlds


@app.get("/updates")
async def updates(db: Session, queries: str = "1") -> list[dict[str, int]]:
    # Rows in id order, so concurrent requests lock them in the same order (no deadlocks).
    ids = sorted(sample(range(1, 10001), count(queries)))
    worlds = [await find_world(db, ident) for ident in ids]
    for world in worlds:
        world.randomnumber = randint(1, 10000)
    # Tidal commits when the handler returns: one batched UPDATE for the changed rows.
    return [{"id": w.id, "randomNumber": w.randomnumber} for w in worlds]


@app.get("/fortunes")
async def fortunes(request: Request, db: Session) -> HTMLResponse:
    rows = list(await db.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message="Additional fortune added at request time."))
    rows.sort(key=lambda fortune: fortune.message)
    return await render(request, "fortunes.html", {"fortunes": rows})


@app.get("/plaintext")
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json_() -> dict[str, str]:
    return {"message": "Hello, World!"}
