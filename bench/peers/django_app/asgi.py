"""ASGI entry for uvicorn: async views and psycopg's connection pool."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.django_app.settings")
os.environ.setdefault("BENCH_DJANGO_URLCONF", "bench.peers.django_app.async_urls")
os.environ.setdefault("BENCH_DJANGO_MODE", "asgi")

from django.core.asgi import get_asgi_application

application = get_asgi_application()
