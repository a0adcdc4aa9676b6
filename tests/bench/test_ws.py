"""The WebSocket workloads: delivery verification, the load client against peers that
drop, repeat or corrupt events, the runner's wiring, and a smoke run of Tidal's fan-out.

A broadcast that loses or reorders events must make its peer invalid, never a winner,
so each kind of fault is produced by a real (deliberately broken) server here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.peers import PEERS
from bench.peers.ws_peers import WS_ENDPOINTS, serves
from bench.report import advantage, last_round, summary_table, targets_table, ws_table
from bench.runner import (
    WS_QUICK,
    Measurement,
    RunSettings,
    applies,
    new_measurement,
    select_median,
)
from bench.servers import free_port
from bench.workloads import WORKLOADS
from bench.wrk import WrkResult
from bench.ws_client import Client, JsonDialect, Outcome, fanout, percentiles, verify
from bench.ws_driver import as_wrk_result, measure_ws
from bench.ws_verify import delivery_problems, sequence_problem, summarize

# --- pure verification -------------------------------------------------------------


def test_an_exact_sequence_has_no_problem() -> None:
    assert sequence_problem([0, 1, 2], range(3)) is None
    assert delivery_problems([[0, 1, 2], [0, 1, 2]], range(3)) == []


@pytest.mark.parametrize(
    ("received", "kind", "detail"),
    [
        ([0, 2], "missed", "missed 1 of 3 events (first: 1)"),
        ([0, 1, 1, 2], "duplicate", "received event 1 twice"),
        ([0, 2, 1], "reordered", "out of order at position 1: event 2 where 1 was due"),
        ([0, 1, 2, 7], "unknown", "received 1 events never published (first: 7)"),
    ],
)
def test_each_fault_is_named(received: list[int], kind: str, detail: str) -> None:
    assert sequence_problem(received, range(3)) == (kind, detail)


def test_faults_are_grouped_with_examples_and_a_count() -> None:
    received = [[0, 1, 2]] + [[0, 2]] * 5 + [[1, 0, 2]]
    problems = delivery_problems(received, range(3))
    assert len(problems) == 2
    assert problems[0].startswith("subscriber 1 missed 1 of 3 events (first: 1); subscriber 2")
    assert problems[0].endswith("; and 2 more subscribers")
    assert problems[1] == "subscriber 6 out of order at position 0: event 1 where 0 was due"


def test_summarize_keeps_distinct_problems_and_counts_the_rest() -> None:
    assert summarize(["a", "a", "b"]) == ["a", "b"]
    assert summarize([str(i) for i in range(8)], limit=3) == [
        "0",
        "1",
        "2",
        "... and 5 more problems",
    ]


def test_percentiles_are_nearest_rank_in_ms() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentiles(values) == {"50": 51.0, "75": 76.0, "90": 91.0, "99": 100.0}
    assert percentiles([]) == {}


# --- the client against real, broken servers ----------------------------------------

Fault = Callable[[int, int], list[int]]
"""(subscriber index, event seq) -> the seqs that subscriber is sent for that publish."""


def faithful(index: int, seq: int) -> list[int]:
    return [seq]


def drops_event_1_for_subscriber_0(index: int, seq: int) -> list[int]:
    return [] if (index, seq) == (0, 1) else [seq]


def repeats_event_1_for_subscriber_2(index: int, seq: int) -> list[int]:
    return [seq, seq] if (index, seq) == (2, 1) else [seq]


def broken_app(fault: Fault, *, pad_delta: int = 0) -> Starlette:
    """The benchmark's JSON protocol, with ``fault`` deciding what each subscriber gets."""
    sockets: list[WebSocket] = []

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        frame = json.loads(await websocket.receive_text())
        sockets.append(websocket)
        await websocket.send_text(
            json.dumps({"type": "reply", "ref": frame["ref"], "status": "ok"})
        )
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass

    async def publish(request: Request) -> JSONResponse:
        q = request.query_params
        seq, sent, size = int(q["seq"]), float(q["sent"]), int(q["size"])
        for index, websocket in enumerate(sockets):
            for s in fault(index, seq):
                data = {"seq": s, "sent": sent, "pad": "x" * (size + pad_delta)}
                await websocket.send_text(json.dumps({"type": "event", "data": data}))
        return JSONResponse({})

    return Starlette(
        routes=[WebSocketRoute("/ws", socket), Route("/publish", publish, methods=["POST"])]
    )


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """``app`` on a real uvicorn in this event loop; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, port=port, ws="websockets-sansio", log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def run_fanout(app: Starlette, *, clients: int = 4, messages: int = 3) -> Outcome:
    async with serve(app) as base_url:
        client = Client(base_url, "/ws", JsonDialect())
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            out = await fanout(
                client, http, clients=clients, messages=messages, warmup=1, payload=8,
                round_timeout_s=1.0, budget_s=30.0, server_pid=None,
            )  # fmt: skip
        client.close()
    out.problems = summarize(client.problems)
    return out


async def test_a_faithful_peer_passes_and_is_measured() -> None:
    out = await run_fanout(broken_app(faithful))
    assert out.problems == []
    assert out.deliveries == 4 * 3
    assert out.messages == 3
    assert out.rate > 0
    assert set(out.percentiles_ms) == {"50", "75", "90", "99"}
    assert out.last_client_ms is not None


async def test_a_peer_that_drops_an_event_is_invalid() -> None:
    out = await run_fanout(broken_app(drops_event_1_for_subscriber_0))
    assert "event 1 reached 3 of 4 subscribers within 1 s" in out.problems
    assert any("subscriber 0 missed" in p for p in out.problems)


async def test_a_peer_that_repeats_an_event_is_invalid() -> None:
    out = await run_fanout(broken_app(repeats_event_1_for_subscriber_2))
    assert any(p.startswith("subscriber 2 received event 1 twice") for p in out.problems)


async def test_a_peer_that_changes_the_payload_is_invalid() -> None:
    out = await run_fanout(broken_app(faithful, pad_delta=1))
    assert any("9 bytes of padding, published with" in p for p in out.problems)


async def test_verification_sends_every_frame_length_class() -> None:
    async with serve(broken_app(faithful)) as base_url:
        client = Client(base_url, "/ws", JsonDialect())
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            out = await verify(client, http, clients=2, round_timeout_s=2.0)
        client.close()
        assert client.problems == []
        assert [size for _, size in client.published] == [0, 125, 126, 70_000]
        assert out.deliveries == 2 * 4


async def test_a_refused_handshake_is_a_problem() -> None:
    async with serve(broken_app(faithful)) as base_url:
        client = Client(base_url, "/nowhere", JsonDialect())
        await client.open(2)
        client.close()
        assert len(client.problems) == 1
        assert client.problems[0].startswith("2 of 2 subscribers could not join")
        assert "handshake answered" in client.problems[0]


# --- wiring into the runner ----------------------------------------------------------


def test_websocket_workloads_run_only_where_they_apply() -> None:
    assert applies(PEERS["tidal"], WORKLOADS["ws_fanout"])
    assert applies(PEERS["node-ws"], WORKLOADS["ws_idle"])
    assert not applies(PEERS["node-ws"], WORKLOADS["json"])
    assert not applies(PEERS["fastify"], WORKLOADS["ws_fanout"])
    assert applies(PEERS["fastify"], WORKLOADS["json"])
    assert all(serves(name, websocket=True) for name in WS_ENDPOINTS)
    assert set(WS_ENDPOINTS) <= set(PEERS)


def settings_for(peers: list[str], **sizes: int | float) -> RunSettings:
    settings = RunSettings(
        peers=peers, workloads=["ws_fanout"], mode="quick", duration_s=1, warmup_s=0,
        repetitions=1, connections=1, **sizes,  # type: ignore[arg-type]
    )  # fmt: skip
    settings.fill_ws_sizes()
    return settings


def test_tidal_serves_websockets_from_its_realtime_app() -> None:
    m = new_measurement(PEERS["tidal"], WORKLOADS["ws_fanout"], settings_for(["tidal"]))
    assert (m.app, m.server, m.metric) == ("bench.peers.tidal_ws:app", "uvicorn", "msgs")
    daphne = new_measurement(
        PEERS["channels-daphne"], WORKLOADS["ws_idle"], settings_for(["channels-daphne"])
    )
    assert (daphne.server, daphne.metric) == ("daphne", "kib")


def test_sizes_come_from_the_mode_unless_given() -> None:
    settings = settings_for(["tidal"], ws_clients=7)
    assert settings.ws_clients == 7
    assert settings.ws_idle == WS_QUICK.idle
    assert settings.ws_messages == WS_QUICK.messages


def ws_measured(peer: str, workload: str, *outcomes: Outcome) -> Measurement:
    metric = "kib" if workload == "ws_idle" else "msgs"
    m = Measurement(peer=peer, workload=workload, server="uvicorn", metric=metric)
    m.ws = list(outcomes)
    m.repetitions = [as_wrk_result(o) for o in outcomes]
    m.selected = select_median(m.repetitions, metric, m.ws)
    return m


def idle(kib: float) -> Outcome:
    return Outcome("idle", connections=100, deliveries=100, rate=50.0, kib_per_connection=kib)


def fan(rate: float) -> Outcome:
    return Outcome(
        "fanout", connections=100, messages=5, payload_bytes=64, deliveries=500, rate=rate,
        percentiles_ms={"50": 1.0, "99": 2.0}, server_cpu_s=0.01, client_cpu_share=0.3,
    )  # fmt: skip


def test_memory_per_connection_is_lower_is_better() -> None:
    tidal = ws_measured("tidal", "ws_idle", idle(20.0), idle(30.0), idle(25.0))
    node = ws_measured("node-ws", "ws_idle", idle(5.0))
    assert tidal.ws[tidal.selected or 0].kib_per_connection == 25.0
    assert advantage(tidal, node) == pytest.approx(0.2)
    assert "25.0 KiB" in summary_table([tidal, node])
    assert "ws_idle (KiB/conn)" in summary_table([tidal, node])


def test_websocket_targets_and_detail() -> None:
    ms = [
        ws_measured("tidal", "ws_fanout", fan(30_000)),
        ws_measured("node-ws", "ws_fanout", fan(40_000)),
        ws_measured("tidal", "ws_idle", idle(25.0)),
        ws_measured("node-ws", "ws_idle", idle(5.0)),
    ]
    goals = targets_table(ms)
    assert "| ≥ 1.0x node-ws | tidal | ws_fanout | 0.75x | **no** |" in goals
    assert "| ≥ 1.0x node-ws | tidal | ws_idle | 0.20x | **no** |" in goals
    assert "django" not in goals  # the HTTP targets do not apply to WebSocket workloads
    table = ws_table(ms)
    assert "| ws_fanout | node-ws | uvicorn | ok | 100 | 40,000 |" in table
    assert "| 0.75x | 5 events of 64 B timed |" in table
    assert "msg/s to 100 subscribers" in last_round(ms[0])


def test_charts_include_the_websocket_workloads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench.charts import write_charts

    ms = [
        ws_measured("tidal", "ws_fanout", fan(30_000)),
        ws_measured("tidal", "ws_idle", idle(25.0)),
        Measurement(peer="tidal", workload="json", server="uvicorn"),
    ]
    ms[2].repetitions = [
        WrkResult(requests_per_sec=1.0, requests=1, duration_s=1.0, percentiles_ms={"50": 1.0})
    ]
    ms[2].selected = 0
    assert write_charts(ms, tmp_path) == ["throughput.png", "latency.png", "memory.png"]


# --- smoke: Tidal's peer through the real driver (server and client processes) --------


def test_tidal_fanout_smoke() -> None:
    settings = settings_for(["tidal"], ws_clients=20, ws_messages=5, ws_warmup=1)
    m = new_measurement(PEERS["tidal"], WORKLOADS["ws_fanout"], settings)
    measure_ws(PEERS["tidal"], WORKLOADS["ws_fanout"], settings, m, repetitions=1)
    assert m.status == "ok", m.reason
    outcome = m.ws[0]
    assert (outcome.connections, outcome.messages, outcome.deliveries) == (20, 5, 100)
    assert outcome.server_cpu_s is not None
    assert m.result is not None
    assert m.result.requests_per_sec == outcome.rate > 0
    assert m.wrk_command[m.wrk_command.index("-m") + 1] == "bench.ws_client"
