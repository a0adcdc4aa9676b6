"""Blocking work never stalls the event loop: sync handlers run in threads, cpu_bound
handlers in worker processes."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.http import cpu_handlers
from tidal import Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.testing import TestClient


async def test_sync_handler_runs_in_a_thread(app: Tidal) -> None:
    release = threading.Event()
    loop_thread = threading.get_ident()

    @app.get("/blocking")
    def blocking() -> dict[str, bool]:
        in_other_thread = threading.get_ident() != loop_thread
        assert release.wait(10), "the light request never ran while this one blocked"
        return {"other_thread": in_other_thread}

    @app.get("/light")
    async def light() -> dict[str, bool]:
        return {"ok": True}

    async with TestClient(app) as client:
        slow = asyncio.ensure_future(client.get("/blocking"))
        await asyncio.sleep(0.05)
        assert (await client.get("/light")).json() == {"ok": True}
        assert not slow.done()
        release.set()
        assert (await slow).json() == {"other_thread": True}


async def test_light_request_completes_while_cpu_bound_request_runs(
    make_app: Any, tmp_path: Path
) -> None:
    app: Tidal = make_app(cpu_workers=1)
    app.get("/cpu", cpu_bound=True)(cpu_handlers.spin_until)

    @app.get("/light")
    async def light() -> dict[str, bool]:
        return {"ok": True}

    flag = tmp_path / "release"
    async with TestClient(app) as client:
        heavy = asyncio.ensure_future(client.get("/cpu", params={"flag": str(flag)}))
        await asyncio.sleep(0.2)
        assert (await client.get("/light")).json() == {"ok": True}
        assert not heavy.done(), "the cpu_bound request should still be spinning"
        flag.touch()
        response = await heavy
    assert response.json()["released"] == 1
    assert response.json()["pid"] != os.getpid()


async def test_cpu_bound_results_and_errors(make_app: Any) -> None:
    app: Tidal = make_app(cpu_workers=1)
    app.get("/fib/{n:int}", cpu_bound=True)(cpu_handlers.fib)
    app.get("/fail/{n:int}", cpu_bound=True)(cpu_handlers.fail)
    async with TestClient(app) as client:
        assert (await client.get("/fib/30")).json() == {"n": 30, "fib": 832040}
        failed = await client.get("/fail/3")
    assert failed.status_code == 404
    assert failed.json()["detail"] == "nothing at 3"


def test_cpu_bound_refuses_async_and_closures(app: Tidal) -> None:
    @app.get("/a", cpu_bound=True)
    async def not_sync() -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match="plain `def` handler"):
        app.build()


def test_cpu_bound_refuses_closures(app: Tidal) -> None:
    @app.get("/b", cpu_bound=True)
    def local() -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match="module-level functions"):
        app.build()
