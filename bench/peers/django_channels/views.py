"""The publishing endpoint: an async Django view sending to the group."""

from __future__ import annotations

from channels.layers import get_channel_layer
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt  # a server-to-server trigger, not a form
@require_POST
async def publish(request: HttpRequest) -> JsonResponse:
    data = {
        "seq": int(request.GET.get("seq", 0)),
        "sent": float(request.GET.get("sent", 0)),
        "pad": "x" * int(request.GET.get("size", 0)),
    }
    await get_channel_layer().group_send("bench.all", {"type": "bench.tick", "data": data})
    return JsonResponse({"ok": True})
