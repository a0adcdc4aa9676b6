"""Tidal peer, written exactly the way Tidal's docs tell users to write an app.

No benchmark-only shortcuts: if the documented style is slow, we want to see it.
``/cpu`` is declared ``cpu_bound=True`` with a module-level plain ``def``, as
docs/topics/handlers.md advises for CPU-heavy handlers. The database workloads are
served by ``bench/peers/db_tidal_app.py`` (the ORM peer, written with the data layer).
"""

from __future__ import annotations

from bench.peers.cpu_work import cpu_result
from tidal import Settings, Tidal

# allowed_hosts names the host wrk uses, so host-header validation stays on.
app = Tidal(
    settings=Settings(debug=False, secret_key="bench-" + "x" * 50, allowed_hosts=["127.0.0.1"])
)


@app.get("/plaintext")
async def plaintext() -> str:
    return "Hello, World!"  # str -> text/plain; charset=utf-8


@app.get("/json")
async def json_() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/cpu", cpu_bound=True)
def cpu() -> dict[str, int]:
    # Runs in Tidal's worker processes, so the event loop keeps serving /json.
    return cpu_result()
