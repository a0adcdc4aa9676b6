"""Sync views, served by gunicorn's sync worker: the classic Django deployment."""

from __future__ import annotations

from random import randint

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from bench.peers.cpu_work import cpu_result
from bench.peers.django_app.models import Fortune, World
from bench.peers.params import queries_count


def plaintext(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, World!", content_type="text/plain")


def json_(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Hello, World!"})


def single_query(request: HttpRequest) -> JsonResponse:
    world = World.objects.get(id=randint(1, 10_000))
    return JsonResponse({"id": world.id, "randomNumber": world.randomnumber})


def queries(request: HttpRequest) -> JsonResponse:
    count = queries_count(request.GET.get("queries"))
    worlds = [World.objects.get(id=randint(1, 10_000)) for _ in range(count)]
    return JsonResponse([{"id": w.id, "randomNumber": w.randomnumber} for w in worlds], safe=False)


def updates(request: HttpRequest) -> JsonResponse:
    count = queries_count(request.GET.get("queries"))
    worlds = [World.objects.get(id=randint(1, 10_000)) for _ in range(count)]
    for world in worlds:
        world.randomnumber = randint(1, 10_000)
    # bulk_update runs in one transaction; id order keeps concurrent updates deadlock-free.
    World.objects.bulk_update(sorted(worlds, key=lambda w: w.id), ["randomnumber"])
    return JsonResponse([{"id": w.id, "randomNumber": w.randomnumber} for w in worlds], safe=False)


def fortunes(request: HttpRequest) -> HttpResponse:
    items = list(Fortune.objects.all())
    items.append(Fortune(id=0, message="Additional fortune added at request time."))
    items.sort(key=lambda f: f.message)
    return render(request, "fortunes.html", {"fortunes": items})


def cpu(request: HttpRequest) -> JsonResponse:
    return JsonResponse(cpu_result())
