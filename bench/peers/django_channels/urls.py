from __future__ import annotations

from django.urls import path

from bench.peers.django_channels import views

urlpatterns = [path("publish", views.publish)]
