from __future__ import annotations

from django.urls import path

from bench.peers.django_app import async_views as views

urlpatterns = [
    path("plaintext", views.aplaintext),
    path("json", views.ajson),
    path("db", views.single_query),
    path("queries", views.queries),
    path("updates", views.updates),
    path("fortunes", views.fortunes),
    path("cpu", views.cpu),
]
