"""The WebSocket workloads on their own, with sizes chosen on the command line.

    .venv/bin/python -m bench.ws_fanout          # every default WebSocket peer, full sizes
    .venv/bin/python -m bench.ws_fanout --peers tidal,node-ws --clients 10000 --idle 10000
    .venv/bin/python -m bench.ws_fanout --peers tidal --workloads ws_fanout --clients 1000

The same runner as ``python -m bench run --workloads ws_fanout,ws_idle`` (fresh server per
round, verification first, the client in ``bench/ws_client.py`` pinned to the other CPU),
writing to ``bench/results/<date>-ws/`` unless ``--output-dir`` says otherwise, so a
WebSocket run never overwrites the day's HTTP results.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bench.peers import PEERS
from bench.peers.ws_peers import WS_ENDPOINTS

WS_WORKLOADS = ("ws_fanout", "ws_idle")


def _names(value: str, known: Sequence[str], kind: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {kind} {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}"
        )
    return names


def _peer_for_app(app: str) -> str:
    """The peer whose WebSocket app is ``app`` (the ``--app`` option of earlier versions)."""
    for name, endpoint in WS_ENDPOINTS.items():
        if app in (endpoint.app, PEERS[name].app):
            return name
    known = ", ".join(WS_ENDPOINTS)
    raise SystemExit(f"no WebSocket peer serves {app}; choose with --peers from {known}")


def build_parser() -> argparse.ArgumentParser:
    peers = list(WS_ENDPOINTS)
    parser = argparse.ArgumentParser(prog="python -m bench.ws_fanout", description=__doc__)
    parser.add_argument(
        "--peers",
        type=lambda v: _names(v, peers, "peer"),
        help=f"comma-separated from {','.join(peers)} (default: those run by default)",
    )
    parser.add_argument("--app", help="an ASGI app string instead of --peers (one peer)")
    parser.add_argument(
        "--workloads",
        type=lambda v: _names(v, WS_WORKLOADS, "workload"),
        default=list(WS_WORKLOADS),
        help="comma-separated (default: ws_fanout,ws_idle)",
    )
    parser.add_argument("--quick", action="store_true", help="the --quick sizes of the runner")
    parser.add_argument("--clients", type=int, help="ws_fanout subscribers")
    parser.add_argument("--messages", type=int, help="ws_fanout timed events")
    parser.add_argument("--rounds", dest="messages", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, help="ws_fanout untimed events first")
    parser.add_argument("--payload", type=int, help="padding bytes per event")
    parser.add_argument("--budget", type=float, help="ws_fanout: at most this many timed seconds")
    parser.add_argument("--idle", type=int, help="ws_idle connections")
    parser.add_argument("--hold", type=float, help="ws_idle: seconds to hold them")
    parser.add_argument("--repetitions", type=int, default=1, help="rounds (median reported)")
    parser.add_argument("--output-dir", type=Path, help="default bench/results/<date>-ws")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from bench.report import ws_table
    from bench.runner import FULL, QUICK, RESULTS_ROOT, RunSettings, run

    if args.app:
        peers = [_peer_for_app(args.app)]
    else:
        peers = args.peers or [n for n in WS_ENDPOINTS if PEERS[n].default]
    preset = QUICK if args.quick else FULL
    settings = RunSettings(
        peers=peers,
        workloads=args.workloads,
        mode="quick" if args.quick else "full",
        duration_s=preset.duration_s,
        warmup_s=preset.warmup_s,
        repetitions=args.repetitions,
        connections=0,
        ws_clients=args.clients,
        ws_messages=args.messages,
        ws_warmup=args.warmup,
        ws_idle=args.idle,
        ws_payload=args.payload,
        ws_hold_s=args.hold,
        ws_budget_s=args.budget,
    )
    out = args.output_dir or RESULTS_ROOT / f"{date.today().isoformat()}-ws"
    command = "python -m bench.ws_fanout " + shlex.join(argv)
    data = run(settings, output_dir=out, command=command)
    print(ws_table(data["results"]))
    return 0 if all(m.status in ("ok", "not yet") for m in data["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
