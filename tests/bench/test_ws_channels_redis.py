"""The Django Channels peer on the Redis channel layer (``django-channels-redis``).

Registered like the other WebSocket peers, and served for real: a server and a client
process through the runner's driver, so verification (every frame-length class, every
event once and in order) runs as in a benchmark. It needs the Redis at
``BENCH_CHANNELS_REDIS_URL`` (default ``redis://127.0.0.1:6379/14``, which
``scripts/services`` starts) and fails, never skips, without it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from bench.peers import PEERS
from bench.peers.ws_peers import WS_ENDPOINTS, serves
from bench.runner import RunSettings, applies, new_measurement
from bench.servers import free_port
from bench.workloads import WORKLOADS
from bench.ws_driver import measure_ws

PEER = "django-channels-redis"
URL = os.environ.get("BENCH_CHANNELS_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key prefix of this test's own (the server empties its prefix when it starts, so a
    benchmark's keys are never touched), and its keys deleted afterwards."""
    value = f"tidal-test-channels-{os.getpid()}"
    monkeypatch.setenv("BENCH_CHANNELS_REDIS_PREFIX", value)
    yield value
    client = redis.Redis.from_url(URL)
    try:
        keys = list(client.scan_iter(match=value + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def settings_for(workload: str, **sizes: int | float) -> RunSettings:
    settings = RunSettings(
        peers=[PEER], workloads=[workload], mode="quick", duration_s=1, warmup_s=0,
        repetitions=1, connections=1, **sizes,  # type: ignore[arg-type]
    )  # fmt: skip
    settings.fill_ws_sizes()
    return settings


def test_the_redis_peer_is_registered_as_a_websocket_peer() -> None:
    peer = PEERS[PEER]
    assert peer.app == "bench.peers.django_channels.asgi_redis:application"
    assert peer.server == "uvicorn"
    assert peer.default
    assert WS_ENDPOINTS[PEER].path == "/ws"
    assert serves(PEER, websocket=True)
    assert not serves(PEER, websocket=False)
    assert applies(peer, WORKLOADS["ws_fanout"])
    assert applies(peer, WORKLOADS["ws_idle"])
    assert not applies(peer, WORKLOADS["json"])


def test_its_settings_use_the_redis_channel_layer() -> None:
    from bench.peers.django_channels import settings_redis

    layer = settings_redis.CHANNEL_LAYERS["default"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layer["CONFIG"]["hosts"][0]["address"] == settings_redis.REDIS_URL


def test_fanout_through_redis_passes_verification(prefix: str) -> None:
    settings = settings_for("ws_fanout", ws_clients=150, ws_messages=3, ws_warmup=1)
    peer, workload = PEERS[PEER], WORKLOADS["ws_fanout"]
    m = new_measurement(peer, workload, settings)
    measure_ws(peer, workload, settings, m, repetitions=1)
    assert m.status == "ok", m.reason
    outcome = m.ws[0]
    assert outcome.problems == []
    assert (outcome.connections, outcome.messages, outcome.deliveries) == (150, 3, 450)
    assert outcome.server_cpu_s is not None
    assert "bench.peers.django_channels.asgi_redis:application" in m.server_command


def test_idle_connections_through_redis(prefix: str) -> None:
    settings = settings_for("ws_idle", ws_idle=30, ws_hold_s=0.3)
    peer, workload = PEERS[PEER], WORKLOADS["ws_idle"]
    m = new_measurement(peer, workload, settings)
    measure_ws(peer, workload, settings, m, repetitions=1)
    assert m.status == "ok", m.reason
    assert m.ws[0].connections == 30
    assert m.ws[0].kib_per_connection is not None


def test_without_redis_the_peer_fails_with_the_reason(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/14"  # nothing listens there
    monkeypatch.setenv("BENCH_CHANNELS_REDIS_URL", nowhere)
    settings = settings_for("ws_fanout", ws_clients=4, ws_messages=1, ws_warmup=0)
    peer, workload = PEERS[PEER], WORKLOADS["ws_fanout"]
    m = new_measurement(peer, workload, settings)
    measure_ws(peer, workload, settings, m, repetitions=1)
    assert m.status == "error"
    assert f"django-channels-redis needs Redis at {nowhere}" in (m.reason or "")
