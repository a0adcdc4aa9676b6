"""Tidal peer, written exactly the way Tidal's docs tell users to write an app.

No benchmark-only shortcuts: if the documented style is slow, we want to see it.
"""

from __future__ import annotations

from tidal import Settings, Tidal

app = Tidal(settings=Settings(debug=False, secret_key="bench-" + "x" * 50, allowed_hosts=["*"]))


@app.get("/plaintext")
async def plaintext() -> str:
    return "Hello, World!"  # str -> text/plain; charset=utf-8


@app.get("/json")
async def json_() -> dict[str, str]:
    return {"message": "Hello, World!"}
