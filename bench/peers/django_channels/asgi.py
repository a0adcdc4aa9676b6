"""ASGI entry (uvicorn or daphne), as Channels' tutorial writes it: HTTP to Django, the
socket through the origin check and the session/auth middleware to the consumer."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.django_channels.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()  # before importing consumers (app registry)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from bench.peers.django_channels.consumers import TopicConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws", TopicConsumer.as_asgi())]))
        ),
    }
)
