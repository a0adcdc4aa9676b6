"""Idiomatic Starlette peer: Tidal is built on Starlette, so this is its floor.

Written the way Starlette's docs show (a Route list and response classes), not
tuned, so the number reflects what a typical Starlette user would get.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json_(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json_),
    ]
)
