"""Ratios, targets and tables computed from measurements (no servers, no wrk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import advantage, ratio_table, ratios, render_markdown, spread, targets_table
from bench.runner import Measurement, RunSettings
from bench.wrk import WrkResult


def result(rps: float, p99: float = 10.0) -> WrkResult:
    return WrkResult(
        requests_per_sec=rps,
        requests=int(rps * 5),
        duration_s=5.0,
        percentiles_ms={"50": p99 / 2, "99": p99},
    )


def measured(peer: str, workload: str, *runs: WrkResult, metric: str = "rps") -> Measurement:
    m = Measurement(peer=peer, workload=workload, server="uvicorn", metric=metric)
    m.repetitions = list(runs)
    order = sorted(
        range(len(runs)),
        key=lambda i: (runs[i].p99_ms or 0) if metric == "p99" else runs[i].requests_per_sec,
    )
    m.selected = order[(len(order) - 1) // 2]
    return m


def test_throughput_ratio_is_tidal_over_peer() -> None:
    ms = [measured("tidal", "json", result(9000)), measured("asgi", "json", result(10000))]
    assert ratios(ms)["asgi", "json"] == pytest.approx(0.9)
    assert ratios(ms)["tidal", "json"] == pytest.approx(1.0)


def test_latency_ratio_is_peer_p99_over_tidal() -> None:
    tidal = measured("tidal", "stall", result(5000, p99=4.0), metric="p99")
    fastify = measured("fastify", "stall", result(9000, p99=40.0), metric="p99")
    assert advantage(tidal, fastify) == pytest.approx(10.0)


def test_invalid_peers_have_no_ratio() -> None:
    bad = Measurement(peer="asgi", workload="json", server="uvicorn", status="invalid")
    ms = [measured("tidal", "json", result(9000)), bad]
    assert ("asgi", "json") not in ratios(ms)
    assert "| tidal vs asgi | - |" in ratio_table(ms)


def test_spread_spans_the_repetitions() -> None:
    m = measured("asgi", "json", result(100), result(300), result(200))
    assert spread(m) == (100, 300)
    assert m.result is not None
    assert m.result.requests_per_sec == 200


def test_targets_are_checked() -> None:
    ms = [
        measured("tidal", "queries", result(1000)),
        measured("django", "queries", result(100)),
        measured("asgi", "queries", result(1200)),
        measured("fastify", "queries", result(900)),
    ]
    table = targets_table(ms)
    assert "| ≥ 5x django | tidal | queries | 10.00x | yes |" in table
    assert "| ≥ 0.9x asgi | tidal | queries | 0.83x | **no** |" in table
    assert "| ≥ 1.0x fastify | tidal | queries | 1.11x | yes |" in table


def test_markdown_lists_problems_and_not_yet(tmp_path: Path) -> None:
    missing = Measurement(
        peer="tidal", workload="db", server="uvicorn", status="not yet", reason="no tidal.db"
    )
    settings = RunSettings(
        peers=["tidal"], workloads=["db"], mode="quick", duration_s=1, warmup_s=1,
        repetitions=1, connections=1,
    )  # fmt: skip
    machine = {
        "cpu_model": "x", "nproc": 2, "memory_total_kib": 1024, "kernel": "k",
        "python_implementation": "CPython", "python": "3.11", "packages": {},
        "wrk": "wrk", "git_revision": None,
    }  # fmt: skip
    data = {
        "date": "2026-01-01", "command": "c", "elapsed_s": 1, "settings": settings,
        "results": [missing], "machine": machine,
    }  # fmt: skip
    text = render_markdown(data)
    assert "**tidal / db** (not yet): no tidal.db" in text


def test_charts_are_written(tmp_path: Path) -> None:
    from bench.charts import write_charts

    ms = [
        measured("tidal", "json", result(9000), result(9500)),
        measured("asgi", "json", result(10000)),
        measured("tidal", "stall", result(5000, p99=4.0), metric="p99"),
    ]
    names = write_charts(ms, tmp_path)
    assert names == ["throughput.png", "latency.png", "memory.png"]
    for name in names:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_results_json_round_trips(tmp_path: Path) -> None:
    from bench.report import load, write

    settings = RunSettings(
        peers=["tidal", "asgi"], workloads=["json"], mode="quick", duration_s=1, warmup_s=1,
        repetitions=2, connections=1,
    )  # fmt: skip
    machine = {
        "cpu_model": "x", "nproc": 2, "memory_total_kib": 1024, "kernel": "k",
        "python_implementation": "CPython", "python": "3.11", "packages": {},
        "wrk": "wrk", "git_revision": None,
    }  # fmt: skip
    data = {
        "date": "2026-01-01", "command": "c", "elapsed_s": 1, "settings": settings,
        "machine": machine,
        "results": [
            measured("tidal", "json", result(9000), result(9500)),
            measured("asgi", "json", result(10000), result(11000)),
        ],
    }  # fmt: skip
    write(data, tmp_path)
    first = (tmp_path / "results.md").read_text()
    again = load(tmp_path)
    assert again["results"][0].result.requests_per_sec == 9000
    write(again, tmp_path)
    assert (tmp_path / "results.md").read_text() == first
