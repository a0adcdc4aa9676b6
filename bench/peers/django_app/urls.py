from __future__ import annotations

from django.urls import path

from bench.peers.django_app import views

urlpatterns = [
    path("plaintext", views.plaintext),
    path("json", views.json_),
    path("db", views.single_query),
    path("queries", views.queries),
    path("updates", views.updates),
    path("fortunes", views.fortunes),
    path("cpu", views.cpu),
]
