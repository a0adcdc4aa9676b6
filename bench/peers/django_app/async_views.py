"""Async views with Django's async ORM API, served under uvicorn (``asgi.py``).

``cpu`` stays a sync view: under ASGI Django runs sync views in a thread, which is
what its docs describe for blocking code.
"""

from __future__ import annotations

from random import randint

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from bench.peers.django_app.models import Fortune, World
from bench.peers.django_app.views import cpu, json_, plaintext
from bench.peers.params import queries_count


async def aplaintext(request: HttpRequest) -> HttpResponse:
    return plaintext(request)


async def ajson(request: HttpRequest) -> JsonResponse:
    return json_(request)


async def single_query(request: HttpRequest) -> JsonResponse:
    world = await World.objects.aget(id=randint(1, 10_000))
    return JsonResponse({"id": world.id, "randomNumber": world.randomnumber})


async def queries(request: HttpRequest) -> JsonResponse:
    count = queries_count(request.GET.get("queries"))
    worlds = [await World.objects.aget(id=randint(1, 10_000)) for _ in range(count)]
    return JsonResponse([{"id": w.id, "randomNumber": w.randomnumber} for w in worlds], safe=False)


async def updates(request: HttpRequest) -> JsonResponse:
    count = queries_count(request.GET.get("queries"))
    worlds = [await World.objects.aget(id=randint(1, 10_000)) for _ in range(count)]
    for world in worlds:
        world.randomnumber = randint(1, 10_000)
    await World.objects.abulk_update(sorted(worlds, key=lambda w: w.id), ["randomnumber"])
    return JsonResponse([{"id": w.id, "randomNumber": w.randomnumber} for w in worlds], safe=False)


async def fortunes(request: HttpRequest) -> HttpResponse:
    items = [fortune async for fortune in Fortune.objects.all()]
    items.append(Fortune(id=0, message="Additional fortune added at request time."))
    items.sort(key=lambda f: f.message)
    return render(request, "fortunes.html", {"fortunes": items})


__all__ = ["ajson", "aplaintext", "cpu", "fortunes", "queries", "single_query", "updates"]
