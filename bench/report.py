"""Write a run's results as results.json (everything) and results.md (the table).

results.json keeps every repetition and command so numbers can be re-derived;
results.md is the human summary. Charts will be rendered here too (a
``charts.py`` called from :func:`write`) once matplotlib is a bench dependency.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from bench.runner import Measurement, RunSettings

REFERENCE_PEER = "tidal"


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _fmt_mib(kib: int | None) -> str:
    return "-" if not kib else f"{kib / 1024:.1f} MiB"


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


def ratios(measurements: list[Measurement]) -> dict[tuple[str, str], float]:
    """(peer, workload) -> tidal req/s divided by that peer's req/s, when both are valid."""
    reference = {
        m.workload: m.result.requests_per_sec
        for m in measurements
        if m.peer == REFERENCE_PEER and m.result is not None
    }
    out: dict[tuple[str, str], float] = {}
    for m in measurements:
        if m.result is not None and m.workload in reference and m.result.requests_per_sec:
            out[m.peer, m.workload] = reference[m.workload] / m.result.requests_per_sec
    return out


def markdown_table(measurements: list[Measurement]) -> str:
    ratio = ratios(measurements)
    lines = [
        "| peer | workload | server | status | req/s | p50 | p99 | peak RSS | tidal ÷ peer |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    workloads = list(dict.fromkeys(m.workload for m in measurements))
    for workload in workloads:
        for m in (m for m in measurements if m.workload == workload):
            r = m.result
            rps = "-" if r is None else f"{r.requests_per_sec:,.0f}"
            rel = ratio.get((m.peer, m.workload))
            lines.append(
                f"| {m.peer} | {m.workload} | {m.server} | {m.status} | {rps} | "
                f"{_fmt_ms(r.p50_ms if r else None)} | {_fmt_ms(r.p99_ms if r else None)} | "
                f"{_fmt_mib(m.peak_rss_kib)} | {'-' if rel is None else f'{rel:.2f}x'} |"
            )
    return "\n".join(lines)


def render_markdown(data: dict[str, Any]) -> str:
    settings: RunSettings = data["settings"]
    measurements: list[Measurement] = data["results"]
    machine = data["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)
    pinning = (
        f"server on CPU {settings.server_cpu}, wrk on CPU {settings.load_cpu} (taskset)"
        if settings.server_cpu is not None
        else "none (fewer than 2 CPUs or no taskset): numbers are noisier"
    )
    out = [
        f"# Tidal benchmark, {data['date']}",
        "",
        f"Command: `{data['command']}` (took {data['elapsed_s']} s)",
        "",
        markdown_table(measurements),
        "",
        f"Figures: {settings.selection}, out of {settings.repetitions} repetition(s) of "
        f"{settings.duration_s:g} s after a {settings.warmup_s:g} s warm-up, "
        f"`wrk -t{settings.threads} -c{settings.connections} --latency`. "
        "Peak RSS is the server process tree's high-water mark (VmHWM). "
        "A peer is only timed after its responses pass verification; "
        "'invalid' means a wrong response, 'error' means it did not run.",
    ]
    problems = [m for m in measurements if m.status != "ok"]
    if problems:
        out += ["", "## Invalid or failed", ""]
        for m in problems:
            out.append(f"- **{m.peer} / {m.workload}** ({m.status}): {short_reason(m.reason)}")
    out += [
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, nproc {machine['nproc']}, "
        f"memory {_fmt_mib(machine['memory_total_kib'])}",
        f"- Kernel {machine['kernel']}, {machine['python_implementation']} {machine['python']}",
        f"- Packages: {packages}",
        f"- wrk: {machine['wrk']}",
        f"- Git revision: {machine['git_revision'] or 'none (no commit yet)'}",
        "",
        "## Settings",
        "",
        f"- Mode: {settings.mode}; connections {settings.connections}, "
        f"wrk threads {settings.threads}",
        f"- Server: {settings.server or 'each peer default'}; pinning: {pinning}",
        "",
        "## Charts",
        "",
        "Not generated yet (matplotlib is not a bench dependency); see bench/report.py.",
        "",
    ]
    return "\n".join(out)


def write(data: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    encoded = msgspec.json.format(msgspec.json.encode(data), indent=2)
    (out_dir / "results.json").write_bytes(encoded + b"\n")
    (out_dir / "results.md").write_text(render_markdown(data))
    # Charts go here: e.g. charts.write(data, out_dir) producing PNGs linked from results.md.
