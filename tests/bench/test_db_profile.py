"""The in-process driver of ``bench/db_profile.py``, on stand-in ASGI apps (no database):
what each request is handed, what is counted, and that a wrong answer stops the run."""

from __future__ import annotations

from typing import Any

import pytest

from bench.db_profile import Lifespan, Timing, drive, report, scope_for


def test_scope_splits_the_query_string() -> None:
    scope = scope_for("/queries?queries=20")
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == (
        "/queries",
        b"/queries",
        b"queries=20",
    )
    assert scope_for("/db")["query_string"] == b""
    assert scope_for("/db") is not scope_for("/db")  # apps may write into their scope


def app_answering(status: int, body: bytes = b"{}") -> Any:
    calls: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rpartition(".")[2]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        calls.append(scope["path"])
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app.calls = calls  # type: ignore[attr-defined]
    return app


async def test_drive_sends_every_request_and_measures_it() -> None:
    app = app_answering(200)
    lifespan = Lifespan(app)
    await lifespan.start()
    timing = await drive(app, "/db", requests=50, concurrency=8)
    await lifespan.stop()
    assert app.calls == ["/db"] * 50
    assert timing.cpu_us >= timing.sys_us >= 0
    assert timing.wall_us > 0
    assert timing.p99_ms >= 0


async def test_a_response_other_than_200_stops_the_run_with_its_body() -> None:
    app = app_answering(503, b"All database connections are busy.")
    with pytest.raises(SystemExit, match=r"/db: 4 responses not 200, the first 503: .*busy"):
        await drive(app, "/db", requests=4, concurrency=2)


def test_report_gives_the_ratio_of_the_best_cpu_times() -> None:
    tidal = [Timing(300, 50, 400, 20), Timing(250, 40, 380, 25)]
    bare = [Timing(200, 40, 300, 15), Timing(180, 30, 320, 18)]
    table = report({"tidal": {"db": tidal}, "starlette": {"db": bare}}, ["db", "queries"])
    assert "| db | 250 | 180 | 0.72 | 390 | 310 | 0.79 |" in table
    assert "queries" not in table  # not measured: no row
