"""PNG charts of a run (matplotlib, headless): throughput, latency, memory, stall.

One panel per workload, one bar per peer, Tidal's bars in a colour of their own; the
whiskers on throughput bars span the repetitions (min to max), so the noise is visible.
The WebSocket workloads join them: ws_fanout's messages/s and delivery latency, and
ws_idle's server memory per connection in the memory chart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a server

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from bench.runner import Measurement

TIDAL_COLOURS = {"tidal": "#1f77b4", "tidal-granian": "#6baed6"}
OTHER_COLOUR = "#9e9e9e"


def _colour(peer: str) -> str:
    return TIDAL_COLOURS.get(peer, OTHER_COLOUR)


def _panels(
    measurements: list[Measurement],
    workloads: list[str],
    path: Path,
    title: str,
    draw: Callable[[Axes, list[Measurement]], None],
) -> str | None:
    if not workloads:
        return None
    cols = min(3, len(workloads))
    rows = (len(workloads) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    for ax, workload in zip(axes.flat, workloads, strict=False):
        valid = [m for m in measurements if m.workload == workload and m.result is not None]
        ax.set_title(workload)
        if valid:
            draw(ax, valid)
        else:
            ax.text(0.5, 0.5, "no valid results", ha="center", transform=ax.transAxes)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(workloads) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def _throughput(ax: Axes, valid: list[Measurement]) -> None:
    peers = [m.peer for m in valid]
    values = [m.result.requests_per_sec for m in valid if m.result]
    lows = [min(r.requests_per_sec for r in m.repetitions) for m in valid]
    highs = [max(r.requests_per_sec for r in m.repetitions) for m in valid]
    low = [v - lo for v, lo in zip(values, lows, strict=True)]
    high = [hi - v for v, hi in zip(values, highs, strict=True)]
    ax.barh(peers, values, xerr=[low, high], color=[_colour(p) for p in peers], capsize=2)
    ax.invert_yaxis()
    unit = "messages delivered/s" if valid[0].metric == "msgs" else "requests/s"
    ax.set_xlabel(f"{unit} (median; whiskers: min-max)")


def _latency(ax: Axes, valid: list[Measurement]) -> None:
    peers = [m.peer for m in valid]
    y = range(len(valid))
    p50 = [m.result.p50_ms or 0.0 for m in valid if m.result]
    p99 = [m.result.p99_ms or 0.0 for m in valid if m.result]
    ax.barh([i + 0.2 for i in y], p99, height=0.4, color="#d62728", label="p99")
    ax.barh([i - 0.2 for i in y], p50, height=0.4, color=[_colour(p) for p in peers], label="p50")
    ax.set_yticks(list(y), peers)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on narrow ranges
    ax.set_xlabel("latency, ms (log)")
    ax.legend(fontsize="small")


def _memory(ax: Axes, valid: list[Measurement]) -> None:
    peers = [m.peer for m in valid]
    if valid[0].metric == "kib":  # ws_idle: what each idle connection costs the server
        values = [
            (m.ws[m.selected].kib_per_connection or 0.0) if m.selected is not None else 0.0
            for m in valid
        ]
        label = "server RSS per idle connection, KiB"
    else:
        values = [(m.peak_rss_kib or 0) / 1024 for m in valid]
        label = "peak RSS, MiB (process tree)"
    ax.barh(peers, values, color=[_colour(p) for p in peers])
    ax.invert_yaxis()
    ax.set_xlabel(label)


def write_charts(measurements: list[Measurement], out_dir: Path) -> list[str]:
    """Write the PNGs into ``out_dir``; return their file names."""
    workloads = list(dict.fromkeys(m.workload for m in measurements))
    throughput = [
        w
        for w in workloads
        if any(m.workload == w and m.metric in ("rps", "msgs") for m in measurements)
    ]
    latency_first = [
        w for w in workloads if any(m.workload == w and m.metric == "p99" for m in measurements)
    ]
    written = [
        _panels(measurements, throughput, out_dir / "throughput.png",
                "Requests (messages) per second (one server core)", _throughput),
        _panels(measurements, latency_first + throughput, out_dir / "latency.png",
                "Latency under load: p50 and p99", _latency),
        _panels(measurements, workloads, out_dir / "memory.png",
                "Peak memory per server", _memory),
    ]  # fmt: skip
    return [name for name in written if name]
