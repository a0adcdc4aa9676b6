"""Registry of benchmark peers: name -> what to serve and which server runs it.

The runner never imports these modules; it hands ``app`` to a server subprocess.
To add a peer, add one entry here and, for a stack that is not ASGI, a command
builder in ``bench/servers.py`` named by ``server``.

A peer may serve some workloads from another app (``apps``: workload -> app), which is
how suites written by other teams (the ORM's DB workloads, the templates' fortunes)
plug into one peer, and may mark workloads it cannot serve yet (``missing``:
workload -> reason); those are reported as "not yet", never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Peer:
    """A peer app. ``app`` is an import string for ASGI/WSGI peers (``module:attr``) or a
    script path for Node peers.

    ``asgi`` peers may be switched with ``--server``; ``env`` is added to the server's
    environment; ``default`` peers run when ``--peers`` is not given.
    """

    name: str
    app: str
    server: str = "uvicorn"
    asgi: bool = True
    description: str = ""
    apps: Mapping[str, str] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    default: bool = True
    quick: bool = False  # part of the --quick default selection

    def app_for(self, workload: str) -> str:
        return self.apps.get(workload, self.app)


_NODE_ENV = MappingProxyType({"NODE_ENV": "production"})
_TIDAL = "bench.peers.tidal_app:app"
_DB_WORKLOADS = ("db", "queries", "fortunes", "updates")
# The data layer's peers: Tidal through its ORM, and Starlette with hand-written asyncpg SQL.
_TIDAL_DB = MappingProxyType(dict.fromkeys(_DB_WORKLOADS, "bench.peers.db_tidal_app:app"))
_STARLETTE_DB = MappingProxyType(dict.fromkeys(_DB_WORKLOADS, "bench.peers.db_starlette_app:app"))

PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer(
            "tidal",
            _TIDAL,
            description="Tidal, documented style, on uvicorn (the default of `tidal run`)",
            apps=_TIDAL_DB,
            quick=True,
        ),
        Peer(
            "tidal-granian",
            _TIDAL,
            server="granian",
            asgi=False,  # pinned to granian: it exists to compare servers
            description="the same Tidal app on granian",
            apps=_TIDAL_DB,
        ),
        Peer(
            "asgi",
            "bench.peers.asgi_app:app",
            description="hand-written bare ASGI + msgspec + asyncpg (near-limit reference)",
            quick=True,
        ),
        Peer(
            "asgi-granian",
            "bench.peers.asgi_app:app",
            server="granian",
            asgi=False,
            description="the bare ASGI reference on granian",
            default=False,
        ),
        Peer(
            "starlette",
            "bench.peers.starlette_app:app",
            description="idiomatic Starlette; DB workloads: asyncpg + Jinja2",
            apps=_STARLETTE_DB,
        ),
        Peer(
            "fastapi",
            "bench.peers.fastapi_app:app",
            description="idiomatic FastAPI + asyncpg + Jinja2",
        ),
        Peer(
            "fastify",
            "bench/node/fastify.js",
            server="node",
            asgi=False,
            description="Fastify 5 + pg, CPU work in worker_threads",
            env=_NODE_ENV,
            quick=True,
        ),
        Peer(
            "express",
            "bench/node/express.js",
            server="node",
            asgi=False,
            description="Express 4 + pg, CPU work in worker_threads",
            env=_NODE_ENV,
        ),
        Peer(
            "fastify-inline",
            "bench/node/fastify.js",
            server="node",
            asgi=False,
            description="Fastify with /cpu computed on the event loop (the naive Node app)",
            env=MappingProxyType({"NODE_ENV": "production", "BENCH_CPU_MODE": "inline"}),
            default=False,
        ),
        Peer(
            "django",
            "bench.peers.django_app.wsgi:application",
            server="gunicorn",
            asgi=False,
            description="Django sync views, ORM, templates; gunicorn, 1 sync worker",
            quick=True,
        ),
        Peer(
            "django-asgi",
            "bench.peers.django_app.asgi:application",
            description="Django async views, async ORM API, templates; uvicorn",
        ),
    )
}


def default_peers(*, quick: bool) -> list[str]:
    return [p.name for p in PEERS.values() if (p.quick if quick else p.default)]


# The WebSocket-only peers (Node `ws`, Socket.IO, Django Channels) are declared with the
# WebSocket endpoints; imported last because that module imports ``Peer`` from here.
from bench.peers.ws_peers import WS_ONLY_PEERS  # noqa: E402

PEERS.update({peer.name: peer for peer in WS_ONLY_PEERS})
