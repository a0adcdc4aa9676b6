"""Idiomatic Starlette peer: Tidal is built on Starlette, so this is its floor.

Written the way Starlette's docs show (a Route list and response classes), not
tuned, so the number reflects what a typical Starlette user would get. ``/cpu`` is a
plain ``def`` endpoint, which Starlette runs in its thread pool. The database
workloads are served by ``bench/peers/db_starlette_app.py`` (asyncpg, written with
the data layer).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bench.peers.cpu_work import cpu_result


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json_(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


def cpu(request: Request) -> JSONResponse:
    return JSONResponse(cpu_result())


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json_),
        Route("/cpu", cpu),
    ]
)
