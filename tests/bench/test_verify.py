"""Tests for the benchmark verifier, the wrk report parser and real peer startup.

The verifier is what stops a wrong-but-fast peer from "winning", so every kind
of wrong response it must reject is exercised here. No wrk is needed: wrk
reports are real captures kept as strings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bench.peers import PEERS, Peer
from bench.runner import RunSettings, measure, select_median
from bench.servers import ServerProcess, free_port, process_tree, read_memory_kib
from bench.verify import (
    ExpectText,
    check_common_headers,
    check_response,
    check_wrk_result,
    parse_content_type,
    verify_workload,
)
from bench.workloads import WORKLOADS, Workload
from bench.wrk import WrkError, WrkResult, parse_wrk_output, wrk_command

# Captured from `taskset -c 1 wrk -t1 -c64 -d3s --latency <url>` against
# `uvicorn bench.peers.asgi_app:app` pinned to CPU 0 (uvloop + httptools).
WRK_PLAINTEXT = """\
Running 3s test @ http://127.0.0.1:8770/plaintext
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.71ms    1.26ms  64.01ms   98.63%
    Req/Sec    13.74k   559.05    14.76k    73.33%
  Latency Distribution
     50%    4.55ms
     75%    4.79ms
     90%    5.16ms
     99%    6.07ms
  40997 requests in 3.00s, 5.75MB read
Requests/sec:  13655.08
Transfer/sec:      1.91MB
"""

# Same server, an unknown path: every response is a 404.
WRK_NOT_FOUND = """\
Running 3s test @ http://127.0.0.1:8770/missing
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.92ms    3.21ms 101.65ms   99.24%
    Req/Sec    13.52k   441.50    14.81k    73.33%
  Latency Distribution
     50%    4.63ms
     75%    4.90ms
     90%    5.19ms
     99%    7.22ms
  40386 requests in 3.00s, 5.74MB read
  Non-2xx or 3xx responses: 40386
Requests/sec:  13448.40
Transfer/sec:      1.91MB
"""

# A toy socket server that closes connections, to get the "Socket errors" line
# and microsecond latencies.
WRK_SOCKET_ERRORS = """\
Running 2s test @ http://127.0.0.1:8791/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   180.09us   98.77us   3.58ms   93.65%
    Req/Sec     5.11k   185.57     5.30k    85.71%
  Latency Distribution
     50%  155.00us
     75%  221.00us
     90%  260.00us
     99%  407.00us
  10689 requests in 2.10s, 417.54KB read
  Socket errors: connect 0, read 21378, write 0, timeout 0
Requests/sec:   5090.36
Transfer/sec:    198.84KB
"""

PLAINTEXT = WORKLOADS["plaintext"]
JSON = WORKLOADS["json"]
DATE = "Wed, 25 Nov 2026 00:37:33 GMT"


def make_response(
    body: bytes,
    content_type: str | None,
    *,
    status: int = 200,
    server: str | None = "test",
    date: str | None = DATE,
    content_length: bool = True,
    chunked: bool = False,
) -> httpx.Response:
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if server is not None:
        headers["Server"] = server
    if date is not None:
        headers["Date"] = date
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    response = httpx.Response(status, headers=headers, content=body)
    if not content_length:
        del response.headers["Content-Length"]  # httpx adds one for byte content
    return response


def good_plaintext() -> httpx.Response:
    return make_response(b"Hello, World!", "text/plain; charset=utf-8")


def good_json() -> httpx.Response:
    return make_response(b'{"message":"Hello, World!"}', "application/json")


# --- correct responses -------------------------------------------------------


def test_accepts_correct_plaintext() -> None:
    assert check_response(good_plaintext(), PLAINTEXT.validator) == []


def test_accepts_correct_json() -> None:
    assert check_response(good_json(), JSON.validator) == []


@pytest.mark.parametrize(
    ("workload", "response"),
    [
        # No charset is what TechEmpower accepts (and what Django sends for text/plain).
        (PLAINTEXT, make_response(b"Hello, World!", "text/plain")),
        (PLAINTEXT, make_response(b"Hello, World!", "Text/Plain; Charset=UTF-8")),
        (JSON, make_response(b'{"message":"Hello, World!"}', "application/json; charset=utf-8")),
        # Serializers differ in whitespace; JSON is compared by value.
        (JSON, make_response(b'{"message": "Hello, World!"}', "application/json")),
        (
            PLAINTEXT,
            make_response(b"Hello, World!", "text/plain", content_length=False, chunked=True),
        ),
    ],
)
def test_accepts_legitimate_variants(workload: Workload, response: httpx.Response) -> None:
    assert check_response(response, workload.validator) == []


# --- each kind of wrong response -------------------------------------------


@pytest.mark.parametrize(
    ("workload", "response", "expected"),
    [
        # wrong status
        (PLAINTEXT, make_response(b"Hello, World!", "text/plain", status=500), "status 500"),
        (JSON, make_response(b"Not Found", "text/plain", status=404), "status 404"),
        (PLAINTEXT, make_response(b"", "text/plain", status=302), "status 302"),
        # wrong content type
        (PLAINTEXT, make_response(b"Hello, World!", "text/html; charset=utf-8"), "content-type"),
        (PLAINTEXT, make_response(b"Hello, World!", "application/json"), "content-type"),
        (PLAINTEXT, make_response(b"Hello, World!", "text/plain; charset=latin-1"), "charset"),
        (JSON, make_response(b'{"message":"Hello, World!"}', "text/plain"), "content-type"),
        (JSON, make_response(b'{"message":"Hello, World!"}', None), "Content-Type"),
        # wrong body
        (PLAINTEXT, make_response(b"Hello World!", "text/plain"), "body"),
        (PLAINTEXT, make_response(b"Hello, World!\n", "text/plain"), "body"),
        (PLAINTEXT, make_response(b"", "text/plain"), "body"),
        (JSON, make_response(b'{"message":"Hello, world!"}', "application/json"), "JSON body"),
        (JSON, make_response(b'{"message":"Hello, World!","x":1}', "application/json"), "JSON"),
        (JSON, make_response(b'["Hello, World!"]', "application/json"), "JSON body"),
        (JSON, make_response(b'{"message":"Hello, World!"', "application/json"), "not valid"),
        # missing headers TechEmpower requires
        (PLAINTEXT, make_response(b"Hello, World!", "text/plain", server=None), "Server"),
        (PLAINTEXT, make_response(b"Hello, World!", "text/plain", date=None), "Date"),
        (PLAINTEXT, make_response(b"Hello, World!", "text/plain", date="yesterday"), "Date"),
        (
            JSON,
            make_response(b'{"message":"Hello, World!"}', "application/json", content_length=False),
            "Content-Length",
        ),
    ],
)
def test_rejects_wrong_response(
    workload: Workload, response: httpx.Response, expected: str
) -> None:
    problems = check_response(response, workload.validator)
    assert problems, "a wrong response was accepted"
    assert any(expected in p for p in problems), problems


def test_rejects_content_length_that_lies() -> None:
    response = good_plaintext()
    response.headers["Content-Length"] = "99"
    assert any("Content-Length 99" in p for p in check_common_headers(response))


def test_parse_content_type() -> None:
    assert parse_content_type('Text/Plain; Charset="UTF-8"') == ("text/plain", {"charset": "utf-8"})
    assert parse_content_type("application/json") == ("application/json", {})


# --- verify_workload over HTTP (mock transport) ----------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_verify_workload_requests_path_with_workload_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return good_json()

    with mock_client(handler) as client:
        assert verify_workload("http://peer", JSON, client=client) == []
    assert seen[0].url.path == "/json"
    assert seen[0].headers["Accept"].startswith("application/json")


def test_verify_workload_rejects_wrong_answer() -> None:
    with mock_client(lambda request: good_json()) as client:
        problems = verify_workload("http://peer", PLAINTEXT, client=client)
    assert any("content-type" in p for p in problems)
    assert any("body" in p for p in problems)


def test_verify_workload_reports_connection_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with mock_client(handler) as client:
        problems = verify_workload("http://peer", PLAINTEXT, client=client)
    assert problems
    assert "ConnectError" in problems[0]


# --- wrk report parsing and load-time checks --------------------------------


def test_parse_real_wrk_output() -> None:
    result = parse_wrk_output(WRK_PLAINTEXT)
    assert result.requests_per_sec == 13655.08
    assert result.requests == 40997
    assert result.duration_s == 3.0
    assert result.p50_ms == 4.55
    assert result.p99_ms == 6.07
    assert result.percentiles_ms == {"50": 4.55, "75": 4.79, "90": 5.16, "99": 6.07}
    assert result.latency_avg_ms == 4.71
    assert result.latency_max_ms == 64.01
    assert result.non_2xx == 0
    assert result.socket_errors == {}
    assert check_wrk_result(result) == []


def test_parse_wrk_output_microseconds_and_socket_errors() -> None:
    result = parse_wrk_output(WRK_SOCKET_ERRORS)
    assert result.requests_per_sec == 5090.36
    assert result.duration_s == pytest.approx(2.1)
    assert result.p50_ms == pytest.approx(0.155)
    assert result.p99_ms == pytest.approx(0.407)
    assert result.latency_max_ms == pytest.approx(3.58)
    assert result.socket_errors == {"connect": 0, "read": 21378, "write": 0, "timeout": 0}


def test_non_2xx_in_wrk_output_is_invalid() -> None:
    result = parse_wrk_output(WRK_NOT_FOUND)
    assert result.non_2xx == 40386
    problems = check_wrk_result(result)
    assert problems == ["wrk counted 40386 non-2xx/3xx responses"]


def test_run_without_requests_is_invalid() -> None:
    assert check_wrk_result(WrkResult(requests_per_sec=0.0, requests=0, duration_s=5.0))


def test_unparseable_wrk_output_raises() -> None:
    with pytest.raises(WrkError):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_command_is_pinned_and_carries_headers() -> None:
    cmd = wrk_command(
        "http://127.0.0.1:1/json",
        connections=64,
        duration_s=8,
        headers=JSON.headers,
        cpu=1,
    )
    assert cmd[:7] == ["taskset", "-c", "1", "wrk", "-t1", "-c64", "-d8s"]
    assert cmd[7:10] == ["--timeout", "8s", "--latency"]
    assert cmd[-1] == "http://127.0.0.1:1/json"
    assert "-H" in cmd


def test_select_median() -> None:
    runs = [WrkResult(requests_per_sec=rps, requests=1, duration_s=1.0) for rps in (30, 10, 20)]
    assert select_median(runs) == 2
    assert select_median(runs[:1]) == 0


# --- real peers under real uvicorn ------------------------------------------


@pytest.mark.parametrize("peer_name", ["asgi", "starlette", "tidal"])
def test_real_peer_is_valid(peer_name: str) -> None:
    # Plaintext and JSON need no database; the DB workloads are checked by real runs.
    with ServerProcess(PEERS[peer_name].app, "uvicorn") as server:
        for workload in (PLAINTEXT, JSON):
            assert verify_workload(server.base_url, workload) == [], workload.name
        # The harness can see the server's memory (read from /proc).
        assert server.memory is not None
        assert process_tree(server.memory.pid)[0] == server.memory.pid
        memory = read_memory_kib(server.memory.pid)
        assert memory is not None
        assert memory[0] > 1000


def test_real_wrong_response_is_invalid_and_not_timed() -> None:
    # The asgi peer answers 404 here; measure() must stop before wrk runs.
    wrong = Workload(name="missing", path="/missing", validator=ExpectText(b"x", "text/plain"))
    settings = RunSettings(
        peers=["asgi"],
        workloads=["missing"],
        mode="quick",
        duration_s=1,
        warmup_s=1,
        repetitions=1,
        connections=1,
    )
    result = measure(PEERS["asgi"], wrong, settings)
    assert result.status == "invalid"
    assert "/missing: status 404" in result.reason
    assert result.repetitions == []
    assert result.warmup is None


def test_peer_that_cannot_start_is_an_error() -> None:
    settings = RunSettings(
        peers=["broken"],
        workloads=["plaintext"],
        mode="quick",
        duration_s=1,
        warmup_s=1,
        repetitions=1,
        connections=1,
    )
    broken = Peer("broken", "bench.peers.does_not_exist:app")
    result = measure(broken, PLAINTEXT, settings)
    assert result.status == "error"
    assert "during startup" in result.reason
    assert "does_not_exist" in result.reason


def test_free_port_is_bindable() -> None:
    assert 0 < free_port() < 65536


def test_machine_lock_excludes_a_second_run(tmp_path: Path) -> None:
    import fcntl

    from bench.runner import machine_lock

    path = tmp_path / "bench.lock"
    with machine_lock("python -m bench run --quick", path):
        assert "python -m bench run --quick" in path.read_text()
        with path.open() as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with path.open() as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards
