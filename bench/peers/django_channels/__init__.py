"""Django Channels peer for the WebSocket workloads (bench/README.md).

A project as Channels' tutorial builds one: a consumer that joins a group, the in-memory
channel layer, ``ProtocolTypeRouter`` with ``AllowedHostsOriginValidator`` and
``AuthMiddlewareStack`` in front of the socket route, and a Django view that publishes with
``channel_layer.group_send``.

``asgi_redis`` serves the same project on ``channels_redis``' ``RedisChannelLayer``
(``settings_redis``): the ``django-channels-redis`` peer.
"""
