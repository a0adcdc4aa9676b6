"""WSGI entry for gunicorn (sync worker): sync views, persistent connection."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.django_app.settings")
os.environ.setdefault("BENCH_DJANGO_URLCONF", "bench.peers.django_app.urls")
application = get_wsgi_application()
