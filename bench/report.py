"""Write a run's results: results.json (everything), results.md (tables), PNG charts.

results.json keeps every repetition and command so numbers can be re-derived;
results.md is the human summary: a peers x workloads matrix, Tidal's ratio to each
peer, the issue's targets checked, and per-workload detail with the spread over
repetitions. Charts come from ``bench/charts.py`` (matplotlib, a bench dependency).
"""

from __future__ import annotations

import re
import statistics
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


def score(m: Measurement) -> float | None:
    """The figure compared for ``m``: req/s, or p99 in ms for latency workloads."""
    r = m.result
    if r is None:
        return None
    return r.p99_ms if m.metric == "p99" else r.requests_per_sec


def advantage(tidal: Measurement, peer: Measurement) -> float | None:
    """How many times better Tidal did: req/s Tidal / peer, or p99 peer / Tidal.

    Above 1 means Tidal is ahead, whichever the metric.
    """
    a, b = score(tidal), score(peer)
    if not a or not b:
        return None
    return b / a if tidal.metric == "p99" else a / b


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
    values = [(r.p99_ms or 0.0) if m.metric == "p99" else r.requests_per_sec for r in m.repetitions]
    return min(values), max(values)


def _cell(m: Measurement | None) -> str:
    if m is None:
        return ""
    value = score(m)
    if value is None:
        return m.status
    return _fmt_ms(value) if m.metric == "p99" else _fmt_rps(value)


def _order(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def summary_table(measurements: list[Measurement]) -> str:
    """Peers x workloads: req/s (p99 for the stall workload)."""
    peers = _order([m.peer for m in measurements])
    workloads = _order([m.workload for m in measurements])
    by_key = {(m.peer, m.workload): m for m in measurements}
    metric = {m.workload: m.metric for m in measurements}
    heads = [f"{w} (p99)" if metric[w] == "p99" else f"{w} (req/s)" for w in workloads]
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
    all_workloads = _order([m.workload for m in measurements])
    throughput = [w for w in all_workloads if w != "stall"]
    out: list[Target] = []
    for tidal, asgi in TIDAL_PEERS.items():
        if tidal not in present:
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
    """Per-workload detail: the figures, their spread, memory, Tidal's advantage, notes."""
    ratio = ratios(measurements)
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


def render_markdown(data: dict[str, Any], charts: list[str] | None = None) -> str:
    settings: RunSettings = data["settings"]
    measurements: list[Measurement] = data["results"]
    machine = data["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    pinning = (
        f"server on CPU {settings.server_cpu}, wrk on CPU {settings.load_cpu} (taskset)"
        if settings.server_cpu is not None
        else "none (fewer than 2 CPUs or no taskset): numbers are noisier"
    )
    load = data.get("load_average", {})
    out = [
        f"# Tidal benchmark, {data['date']}",
        "",
        f"Command: `{data['command']}` (took {data['elapsed_s']} s)",
        "",
        "## Summary (req/s; p99 latency for stall)",
        "",
        summary_table(measurements),
        "",
    ]
    ratio = ratio_table(measurements)
    if ratio:
        out += [
            "## Tidal ÷ peer",
            "",
            "Above 1.00x Tidal is ahead: req/s Tidal ÷ peer, and for stall p99 peer ÷ Tidal.",
            "",
            ratio,
            "",
        ]
    goals = targets_table(measurements)
    if goals:
        out += ["## Targets (issue 7)", "", goals, ""]
    out += [
        "## Detail",
        "",
        markdown_table(measurements),
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
        f"- Git revision: {machine['git_revision'] or 'none (no commit yet)'}",
        f"- Load average (1 min) at start {load.get('start', '-')}, at end "
        f"{load.get('end', '-')}: other work on the machine shares its CPUs",
        "",
        "## Settings",
        "",
        f"- Mode: {settings.mode}; connections {settings.connections}, "
        f"wrk threads {settings.threads}",
        f"- Server: {settings.server or 'each peer default'}; pinning: {pinning}",
        "- PostgreSQL: shared server, not pinned; database `bench` with "
        "synchronous_commit=off; every peer's pool holds at most 10 connections",
        "",
    ]
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
