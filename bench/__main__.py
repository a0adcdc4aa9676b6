"""Command line: ``python -m bench run [options]`` and ``python -m bench list``."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.peers import PEERS, default_peers
from bench.servers import SERVERS
from bench.workloads import WORKLOADS


def _names(value: str, known: dict[str, object], kind: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {kind} {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="verify and time peers")
    run.add_argument(
        "--peers",
        type=lambda v: _names(v, dict(PEERS), "peer"),
        default=None,
        help=(
            f"comma-separated (default: {','.join(default_peers(quick=False))}; "
            f"with --quick: {','.join(default_peers(quick=True))})"
        ),
    )
    run.add_argument(
        "--workloads",
        type=lambda v: _names(v, dict(WORKLOADS), "workload"),
        default=list(WORKLOADS),
        help=f"comma-separated (default: all: {','.join(WORKLOADS)})",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help="1 repetition of 2 s after 1 s warm-up, fewer default peers (< 3 min)",
    )
    run.add_argument("--duration", type=float, help="seconds per timed repetition")
    run.add_argument("--warmup", type=float, help="warm-up seconds before timing")
    run.add_argument("--repetitions", type=int, help="timed repetitions (median is reported)")
    run.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    run.add_argument(
        "--server", choices=list(SERVERS), help="override the server for all ASGI peers"
    )
    run.add_argument(
        "--output-dir", type=Path, help="where to write results (default bench/results/<date>)"
    )
    sub.add_parser("list", help="list peers and workloads")
    sub.add_parser("setup-db", help="create and fill the PostgreSQL tables (idempotent)")
    redo = sub.add_parser("report", help="re-render results.md and charts from results.json")
    redo.add_argument("directory", type=Path, help="e.g. bench/results/2026-11-25")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "list":
        for peer in PEERS.values():
            flag = "" if peer.default else " (not run by default)"
            print(f"peer     {peer.name:<15} {peer.server:<8} {peer.description}{flag}")
        for w in WORKLOADS.values():
            print(f"workload {w.name:<15} {w.path:<20} {w.description}")
        return 0
    if args.command == "report":
        from bench.report import load, write

        write(load(args.directory), args.directory)
        print(args.directory / "results.md")
        return 0
    if args.command == "setup-db":
        from bench import pgdata

        print(pgdata.ensure())
        return 0

    # Imported late so `list` and --help stay instant.
    from bench.report import markdown_table
    from bench.runner import FULL, QUICK, RunSettings, run

    preset = QUICK if args.quick else FULL
    settings = RunSettings(
        peers=args.peers or default_peers(quick=args.quick),
        workloads=args.workloads,
        mode="quick" if args.quick else "full",
        duration_s=preset.duration_s if args.duration is None else args.duration,
        warmup_s=preset.warmup_s if args.warmup is None else args.warmup,
        repetitions=preset.repetitions if args.repetitions is None else args.repetitions,
        connections=args.connections,
        server=args.server,
    )
    if settings.repetitions < 1 or settings.connections < 1 or settings.duration_s < 1:
        print("repetitions, connections and duration must be >= 1", file=sys.stderr)
        return 2
    data = run(settings, output_dir=args.output_dir, command="python -m bench " + shlex.join(argv))
    print(markdown_table(data["results"]))
    # Non-zero when any peer was invalid or failed, so scripts and CI notice.
    return 0 if all(m.status in ("ok", "not yet") for m in data["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
