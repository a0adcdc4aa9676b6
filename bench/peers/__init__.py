"""Registry of benchmark peers: name -> what to serve and which server runs it.

The runner never imports these modules; it hands ``app`` to a server subprocess.
To add a peer (Django, FastAPI, Express, Fastify...), add one entry here and, for
a non-ASGI stack, a command builder in ``bench/servers.py`` named by ``server``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    """A peer app. ``app`` is an import string for ASGI peers (``module:attr``)."""

    name: str
    app: str
    server: str = "uvicorn"
    asgi: bool = True  # only ASGI peers may be switched with ``--server``
    description: str = ""


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer("asgi", "bench.peers.asgi_app:app", description="hand-written bare ASGI + msgspec"),
        Peer("starlette", "bench.peers.starlette_app:app", description="idiomatic Starlette"),
        Peer("tidal", "bench.peers.tidal_app:app", description="Tidal, documented style"),
    )
}
