"""Write a run's results: results.json (everything), results.md (tables), PNG charts.

results.json keeps every repetition and command so numbers can be re-derived;
results.md is the human summary: a peers x workloads matrix, Tidal's ratio to each
peer, the issue's targets checked, and per-workload detail with the spread over
repetitions (the WebSocket workloads in a table of their own). Charts come from
``bench/charts.py`` (matplotlib, a bench dependency).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from bench.runner import Measurement, RunSettings

REFERENCE_PEER = "tidal"
# Each Tidal server is compared with the bare ASGI reference on the same server when
# that was run, otherwise with the uvicorn one.
TIDAL_PEERS = {"tidal": "asgi", "tidal-granian": "asgi-granian"}


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"


def _fmt_mib(kib: int | None) -> str:
    return "-" if not kib else f"{kib / 1024:.1f} MiB"


def _fmt_rps(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _fmt_kib(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} KiB"


# What each metric compares (see bench/workloads.py:Workload); the others are higher-better.
UNITS = {"rps": "req/s", "msgs": "msg/s", "p99": "p99", "kib": "KiB/conn"}
LOWER_IS_BETTER = frozenset({"p99", "kib"})
WS_METRICS = frozenset({"msgs", "kib"})


def is_ws(m: Measurement) -> bool:
    return m.metric in WS_METRICS


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")


def short_reason(reason: str, limit: int = 300) -> str:
    """One line for the table notes: the first line plus, for a crash log, its exception."""
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    if len(lines) < 2:
        text = lines[0] if lines else ""
    else:
        # Servers may log more after the traceback (granian: "Unexpected exit from worker").
        exceptions = [line for line in lines[1:] if _EXCEPTION_LINE.match(line)]
        text = f"{lines[0]} ... {exceptions[-1] if exceptions else lines[-1]}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _value(m: Measurement, index: int) -> float | None:
    """The compared figure of repetition ``index``."""
    if m.metric == "kib":
        return m.ws[index].kib_per_connection if index < len(m.ws) else None
    r = m.repetitions[index]
    return r.p99_ms if m.metric == "p99" else r.requests_per_sec


def score(m: Measurement) -> float | None:
    """The figure compared for ``m``: req/s or msg/s, p99 in ms for latency workloads, or
    KiB of server memory per idle connection."""
    if m.result is None or m.selected is None:
        return None
    return _value(m, m.selected)


def advantage(tidal: Measurement, peer: Measurement) -> float | None:
    """How many times better Tidal did: req/s (msg/s) Tidal / peer, or p99 (memory) peer /
    Tidal.

    Above 1 means Tidal is ahead, whichever the metric.
    """
    a, b = score(tidal), score(peer)
    if not a or not b:
        return None
    return b / a if tidal.metric in LOWER_IS_BETTER else a / b


def ratios(
    measurements: list[Measurement], reference: str = REFERENCE_PEER
) -> dict[tuple[str, str], float]:
    """(peer, workload) -> ``advantage`` of ``reference`` over that peer, when both are valid."""
    ref = {m.workload: m for m in measurements if m.peer == reference and m.result is not None}
    out: dict[tuple[str, str], float] = {}
    for m in measurements:
        if m.workload in ref:
            value = advantage(ref[m.workload], m)
            if value is not None:
                out[m.peer, m.workload] = value
    return out


def spread(m: Measurement) -> tuple[float, float] | None:
    """(min, max) of the compared figure over the repetitions, when there are several."""
    if m.result is None or len(m.repetitions) < 2:
        return None
    values = [v or 0.0 for v in (_value(m, i) for i in range(len(m.repetitions)))]
    return min(values), max(values)


def _cell(m: Measurement | None) -> str:
    if m is None:
        return ""
    value = score(m)
    if value is None:
        return m.status
    if m.metric == "kib":
        return _fmt_kib(value)
    return _fmt_ms(value) if m.metric == "p99" else _fmt_rps(value)


def _order(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def summary_table(measurements: list[Measurement]) -> str:
    """Peers x workloads: req/s (p99 for the stall workload, msg/s and KiB per connection
    for the WebSocket workloads)."""
    peers = _order([m.peer for m in measurements])
    workloads = _order([m.workload for m in measurements])
    by_key = {(m.peer, m.workload): m for m in measurements}
    metric = {m.workload: m.metric for m in measurements}
    heads = [f"{w} ({UNITS.get(metric[w], metric[w])})" for w in workloads]
    lines = [
        "| peer | " + " | ".join(heads) + " |",
        "| --- |" + " ---: |" * len(workloads),
    ]
    for peer in peers:
        cells = [_cell(by_key.get((peer, w))) for w in workloads]
        lines.append(f"| {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio_table(measurements: list[Measurement]) -> str:
    """Tidal's advantage over each peer per workload, for each Tidal server that ran."""
    workloads = _order([m.workload for m in measurements])
    tidals = [t for t in TIDAL_PEERS if any(m.peer == t for m in measurements)]
    peers = [p for p in _order([m.peer for m in measurements]) if p not in TIDAL_PEERS]
    if not tidals or not peers:
        return ""
    lines = [
        "| Tidal ÷ peer | " + " | ".join(workloads) + " |",
        "| --- |" + " ---: |" * len(workloads),
    ]
    for tidal in tidals:
        table = ratios(measurements, tidal)
        for peer in peers:
            cells = [f"{table[peer, w]:.2f}x" if (peer, w) in table else "-" for w in workloads]
            lines.append(f"| {tidal} vs {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class Target:
    text: str
    tidal: str
    peer: str
    workloads: list[str]
    minimum: float


def targets(measurements: list[Measurement]) -> list[Target]:
    """The issue's targets, as ratios that must reach ``minimum`` (see docs/performance.md)."""
    present = {m.peer for m in measurements}
    all_workloads = _order([m.workload for m in measurements if not is_ws(m)])
    throughput = [w for w in all_workloads if w != "stall"]
    websocket = _order([m.workload for m in measurements if is_ws(m)])
    out: list[Target] = []
    for tidal, asgi in TIDAL_PEERS.items():
        if tidal not in present:
            continue
        # shared/DESIGN.md: on WebSockets, Tidal's target is Node's figures.
        out.append(Target("≥ 1.0x node-ws", tidal, "node-ws", websocket, 1.0))
        if not all_workloads:
            continue
        asgi_peer = asgi if asgi in present else "asgi"
        for django in ("django", "django-asgi"):
            out.append(Target(f"≥ 5x {django}", tidal, django, all_workloads, 5.0))
        out.append(Target(f"≥ 0.9x {asgi_peer}", tidal, asgi_peer, throughput, 0.9))
        out.append(Target("≥ 1.0x fastify", tidal, "fastify", ["queries", "updates"], 1.0))
        for node in ("fastify", "express"):
            out.append(Target(f"stall p99 ≤ 1/5 of {node}", tidal, node, ["stall"], 5.0))
    return out


def targets_table(measurements: list[Measurement]) -> str:
    lines = ["| target | Tidal | workload | ratio | met |", "| --- | --- | --- | ---: | :---: |"]
    any_row = False
    for target in targets(measurements):
        table = ratios(measurements, target.tidal)
        for workload in target.workloads:
            if not any(m.workload == workload for m in measurements):
                continue
            value = table.get((target.peer, workload))
            met = "-" if value is None else ("yes" if value >= target.minimum else "**no**")
            shown = "-" if value is None else f"{value:.2f}x"
            lines.append(f"| {target.text} | {target.tidal} | {workload} | {shown} | {met} |")
            any_row = True
    return "\n".join(lines) if any_row else ""


def markdown_table(measurements: list[Measurement]) -> str:
    """The detail tables that apply: HTTP workloads, then WebSocket workloads."""
    tables = []
    if any(not is_ws(m) for m in measurements):
        tables.append(http_table(measurements))
    if any(is_ws(m) for m in measurements):
        tables.append(ws_table(measurements))
    return "\n\n".join(tables)


def http_table(measurements: list[Measurement]) -> str:
    """Per-workload detail: the figures, their spread, memory, Tidal's advantage, notes
    (HTTP workloads; ``ws_table`` has the WebSocket ones)."""
    ratio = ratios(measurements)
    measurements = [m for m in measurements if not is_ws(m)]
    lines = [
        "| workload | peer | server | status | req/s (min-max) | p50 | p99 (min-max) "
        "| peak RSS | tidal ÷ peer | notes |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for workload in _order([m.workload for m in measurements]):
        for m in (m for m in measurements if m.workload == workload):
            r = m.result
            rps = p50 = p99 = "-"
            notes: list[str] = []
            if r is not None:
                all_rps = [x.requests_per_sec for x in m.repetitions]
                all_p99 = [x.p99_ms or 0.0 for x in m.repetitions]
                rps = _fmt_rps(r.requests_per_sec)
                p99 = _fmt_ms(r.p99_ms)
                if len(m.repetitions) > 1:
                    rps += f" ({_fmt_rps(min(all_rps))}-{_fmt_rps(max(all_rps))})"
                    p99 += f" ({_fmt_ms(min(all_p99))}-{_fmt_ms(max(all_p99))})"
                p50 = _fmt_ms(r.p50_ms)
                timeouts = sum(x.timeouts for x in m.repetitions)
                if timeouts:
                    notes.append(f"{timeouts} wrk timeouts (8 s)")
                if m.background:
                    cpu_rps = statistics.median(b.requests_per_sec for b in m.background)
                    notes.append(f"/cpu load {cpu_rps:,.0f} req/s")
                if m.cpu_request_ms is not None:
                    notes.append(f"one /cpu alone {m.cpu_request_ms:.0f} ms")
            elif m.status == "not yet":
                notes.append(m.reason)
            rel = ratio.get((m.peer, m.workload))
            lines.append(
                f"| {m.workload} | {m.peer} | {m.server} | {m.status} | {rps} | {p50} | {p99} | "
                f"{_fmt_mib(m.peak_rss_kib)} | {'-' if rel is None else f'{rel:.2f}x'} | "
                f"{'; '.join(notes)} |"
            )
    return "\n".join(lines)


def _minmax(values: list[float], fmt: Callable[[float], str]) -> str:
    return "" if len(values) < 2 else f" ({fmt(min(values))}-{fmt(max(values))})"


def ws_table(measurements: list[Measurement]) -> str:
    """WebSocket detail: ws_fanout's deliveries/s and delivery latency, ws_idle's memory
    per connection and connect rate, with the server's and the client's CPU."""
    ratio = ratios(measurements)
    lines = [
        "| workload | peer | server | status | connections | msg/s or conn/s (min-max) | p50 "
        "| p99 | slowest subscriber | server CPU per delivery | KiB/conn (min-max) "
        "| client CPU | tidal ÷ peer | notes |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    for m in (m for m in measurements if is_ws(m)):
        r = m.result
        cells = ["-"] * 8
        notes: list[str] = []
        if r is not None and m.selected is not None and m.selected < len(m.ws):
            o = m.ws[m.selected]
            rates = [x.requests_per_sec for x in m.repetitions]
            kibs = [x.kib_per_connection for x in m.ws if x.kib_per_connection is not None]
            cpu = (
                f"{o.server_cpu_s / o.deliveries * 1e6:.1f} µs"
                if o.server_cpu_s is not None and o.deliveries
                else "-"
            )
            cells = [
                f"{o.connections:,}",
                _fmt_rps(r.requests_per_sec) + _minmax(rates, _fmt_rps),
                _fmt_ms(r.p50_ms),
                _fmt_ms(r.p99_ms),
                _fmt_ms(o.last_client_ms),
                cpu,
                (_fmt_kib(o.kib_per_connection) + _minmax(kibs, lambda v: f"{v:.1f}"))
                if o.kib_per_connection is not None
                else "-",
                f"{o.client_cpu_share:.0%}",
            ]
            if o.mode == "fanout":
                notes.append(f"{o.messages} events of {o.payload_bytes} B timed")
            else:
                notes.append(
                    f"RSS {_fmt_mib(o.baseline_rss_kib)} -> {_fmt_mib(o.peak_rss_kib)}; "
                    "rate and latency: connect + join"
                )
            if o.client_cpu_share > 0.8:
                notes.append("client near saturation")
        elif m.status == "not yet":
            notes.append(m.reason)
        rel = ratio.get((m.peer, m.workload))
        cells.append("-" if rel is None else f"{rel:.2f}x")
        lines.append(
            f"| {m.workload} | {m.peer} | {m.server} | {m.status} | "
            + " | ".join(cells)
            + f" | {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def last_round(m: Measurement) -> str:
    """One log line for the latest repetition of ``m``."""
    r = m.repetitions[-1]
    if not is_ws(m):
        return f"{r.requests_per_sec:,.0f} req/s, p50 {r.p50_ms} ms, p99 {r.p99_ms} ms"
    o = m.ws[-1]
    if o.mode == "idle":
        return (
            f"{o.kib_per_connection} KiB per connection ({o.connections:,} connections, "
            f"{r.requests_per_sec:,.0f} connections/s)"
        )
    return (
        f"{r.requests_per_sec:,.0f} msg/s to {o.connections:,} subscribers, p50 {r.p50_ms} ms, "
        f"p99 {r.p99_ms} ms, client CPU {o.client_cpu_share:.0%}"
    )


def render_markdown(data: dict[str, Any], charts: list[str] | None = None) -> str:
    settings: RunSettings = data["settings"]
    measurements: list[Measurement] = data["results"]
    machine = data["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    pinning = (
        f"server on CPU {settings.server_cpu}, wrk (or the WebSocket client) on CPU "
        f"{settings.load_cpu} (taskset)"
        if settings.server_cpu is not None
        else "none (fewer than 2 CPUs or no taskset): numbers are noisier"
    )
    load = data.get("load_average", {})
    out = [
        f"# Tidal benchmark, {data['date']}",
        "",
        f"Command: `{data['command']}` (took {data['elapsed_s']} s)",
        "",
        "## Summary (req/s; p99 latency for stall; msg/s and KiB per connection for ws_*)",
        "",
        summary_table(measurements),
        "",
    ]
    ratio = ratio_table(measurements)
    if ratio:
        out += [
            "## Tidal ÷ peer",
            "",
            "Above 1.00x Tidal is ahead: req/s (msg/s) Tidal ÷ peer; for stall p99, and for "
            "ws_idle memory per connection, peer ÷ Tidal.",
            "",
            ratio,
            "",
        ]
    goals = targets_table(measurements)
    if goals:
        out += ["## Targets (issue 7)", "", goals, ""]
    http = [m for m in measurements if not is_ws(m)]
    ws = [m for m in measurements if is_ws(m)]
    if http:
        out += [
            "## Detail",
            "",
            http_table(measurements),
            "",
            f"Figures: {settings.selection}, out of {settings.repetitions} repetition(s) of "
            f"{settings.duration_s:g} s, each after a fresh server start and a "
            f"{settings.warmup_s:g} s warm-up ({settings.rounds}); "
            f"`wrk -t{settings.threads} -c{settings.connections} --timeout 8s --latency`. "
            "Peak RSS is the server process tree's high-water mark (VmHWM, summed over "
            "processes: worker pools included). A peer is only timed after its responses pass "
            "verification; 'invalid' means a wrong response or error statuses under load, "
            "'error' means it did not run, 'not yet' means it has no implementation.",
        ]
    if ws:
        out += [
            "",
            "## WebSocket detail",
            "",
            ws_table(measurements),
            "",
            f"ws_fanout: {settings.ws_clients:,} subscribers of one topic, {settings.ws_warmup} "
            f"untimed events, then {settings.ws_messages} timed (or as many as fit in "
            f"{settings.ws_budget_s:g} s, at least 3) of {settings.ws_payload} bytes of "
            "padding, each published (`POST /publish`) once every subscriber has the "
            "previous one; latency is arrival minus the publisher's timestamp in the event. "
            f"ws_idle: {settings.ws_idle:,} subscribers that then say nothing, held "
            f"{settings.ws_hold_s:g} s; KiB/conn is (peak RSS of the server's process tree "
            "while they are open - RSS before they open) / connections. Median of "
            f"{settings.repetitions} round(s), each on a fresh server, by msg/s and by KiB/conn. "
            "Client: `bench/ws_client.py` pinned to the load CPU; 'client CPU' is its share of "
            "that core while timed (near 100% would mean the client, not the server, is the "
            "limit). Verified before timing and during it: every subscriber gets every event "
            "once, in order, with the published payload, or the peer is invalid.",
        ]
    problems = [m for m in measurements if m.status != "ok"]
    if problems:
        out += ["", "## Invalid, failed or missing", ""]
        for m in problems:
            out.append(f"- **{m.peer} / {m.workload}** ({m.status}): {short_reason(m.reason)}")
    if charts:
        out += ["", "## Charts", ""]
        out += [f"![{Path(c).stem}]({c})" for c in charts]
    out += [
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, nproc {machine['nproc']}, "
        f"memory {_fmt_mib(machine['memory_total_kib'])}",
        f"- Kernel {machine['kernel']}, {machine['python_implementation']} {machine['python']}, "
        f"Node {machine.get('node') or '-'}, PostgreSQL {machine.get('postgresql') or '-'}",
        f"- Packages: {packages}",
        "- Node packages: "
        + (", ".join(f"{k} {v}" for k, v in machine.get("node_packages", {}).items()) or "-"),
        f"- wrk: {machine['wrk']}",
        *(
            ["- WebSocket stacks: " + ", ".join(f"{k} {v}" for k, v in ws_versions.items())]
            if (ws_versions := machine.get("ws_packages"))
            else []
        ),
        f"- Git revision: {machine['git_revision'] or 'none (no commit yet)'}",
        f"- Load average (1 min) at start {load.get('start', '-')}, at end "
        f"{load.get('end', '-')}: other work on the machine shares its CPUs",
        "",
        "## Settings",
        "",
        f"- Mode: {settings.mode}"
        + (f"; connections {settings.connections}, wrk threads {settings.threads}" if http else ""),
        f"- Server: {settings.server or 'each peer default'}; pinning: {pinning}",
        "- PostgreSQL: shared server, not pinned; database `bench` with "
        "synchronous_commit=off; every peer's pool holds at most 10 connections",
        "",
    ]
    if ws:
        out.insert(
            -1,
            f"- WebSocket: {settings.ws_clients:,} subscribers x {settings.ws_messages} events "
            f"of {settings.ws_payload} B (warm-up {settings.ws_warmup}, budget "
            f"{settings.ws_budget_s:g} s); {settings.ws_idle:,} idle connections held "
            f"{settings.ws_hold_s:g} s",
        )
    return "\n".join(out)


def load(out_dir: Path) -> dict[str, Any]:
    """Read a results.json back into the objects :func:`write` takes."""
    from bench.runner import Measurement, RunSettings

    data: dict[str, Any] = msgspec.json.decode((out_dir / "results.json").read_bytes())
    data["settings"] = msgspec.convert(data["settings"], RunSettings)
    data["results"] = msgspec.convert(data["results"], list[Measurement])
    return data


def write(data: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    encoded = msgspec.json.format(msgspec.json.encode(data), indent=2)
    (out_dir / "results.json").write_bytes(encoded + b"\n")
    try:
        from bench.charts import write_charts
    except ImportError:  # matplotlib missing: tables only
        charts: list[str] = []
    else:
        charts = write_charts(data["results"], out_dir)
    (out_dir / "results.md").write_text(render_markdown(data, charts))
