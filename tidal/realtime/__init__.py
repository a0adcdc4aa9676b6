"""Real time: channels over one multiplexed WebSocket, pub/sub across workers and hosts,
presence, Server-Sent Events, and the hook live model broadcasts publish through.

``install(app)`` gives an application its ``Channels`` registry (``app.channel`` and the
``Channels`` injectable). The Redis backend is imported only when ``redis_url`` is set.
"""

from tidal.realtime.channels import Channel as Channel
from tidal.realtime.channels import Channels as Channels
from tidal.realtime.channels import channels_of as channels_of
from tidal.realtime.channels import install as install
from tidal.realtime.connection import Refused as Refused
from tidal.realtime.connection import Socket as Socket
from tidal.realtime.hub import Broadcast as Broadcast
from tidal.realtime.sse import EventStream as EventStream

__all__ = [
    "Broadcast",
    "Channel",
    "Channels",
    "EventStream",
    "Refused",
    "Socket",
    "channels_of",
    "install",
]
