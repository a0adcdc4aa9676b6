"""``render``: templates into responses, through real requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest
from starlette.requests import Request as StarletteRequest

from tidal import HTMLResponse, Request, Tidal
from tidal.exceptions import ImproperlyConfigured
from tidal.templates import install, render
from tidal.testing import TestClient

MakeApp = Callable[..., Tidal]
WriteApps = Callable[..., Path]

PAGE = """{% extends "tpl_shop/base.html" %}
{% block body %}<h1>{{ title }}</h1><p>{{ comment }}</p>
<a href="{{ url_for('product', product_id=3) }}">3</a> {{ request.url.path }}{% endblock %}"""
BASE = "<!doctype html><title>{{ title }}</title><body>{% block body %}{% endblock %}</body>"


@pytest.fixture
def shop(make_app: MakeApp, write_apps: WriteApps) -> Tidal:
    write_apps(
        {
            "tpl_shop/templates/tpl_shop/base.html": BASE,
            "tpl_shop/templates/tpl_shop/page.html": PAGE,
        }
    )
    app = make_app(apps=("tpl_shop",))
    install(app)

    @app.get("/products/{product_id:int}")
    async def product(request: Request, product_id: int) -> HTMLResponse:
        return await render(
            request,
            "tpl_shop/page.html",
            {"title": f"Product {product_id}", "comment": request.query_params.get("c", "")},
        )

    @app.get("/gone")
    async def gone(request: Request) -> HTMLResponse:
        return await render(
            request,
            "tpl_shop/page.html",
            {"title": "Gone"},
            status_code=410,
            headers={"cache-control": "no-store"},
        )

    @app.get("/fallback")
    async def fallback(request: Request) -> HTMLResponse:
        return await render(request, ["tpl_shop/special.html", "tpl_shop/page.html"])

    @app.get("/missing")
    async def missing(request: Request) -> HTMLResponse:
        return await render(request, "tpl_shop/nope.html")

    return app


async def test_renders_with_request_and_context(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/products/3")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Product 3</title>" in response.text
    assert '<a href="/products/3">3</a> /products/3' in response.text


async def test_user_input_is_escaped(shop: Tidal) -> None:
    payload = '<script>alert("xss")</script>'
    async with TestClient(shop) as client:
        response = await client.get("/products/1", params={"c": payload})
    assert payload not in response.text
    assert "<p>&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;</p>" in response.text


async def test_status_and_headers(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/gone")
    assert response.status_code == 410
    assert response.headers["cache-control"] == "no-store"


async def test_first_existing_template_of_a_list(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/fallback")
    assert response.status_code == 200


async def test_missing_template_names_the_folders(
    shop: Tidal, write_apps: WriteApps, caplog: pytest.LogCaptureFixture
) -> None:
    async with TestClient(shop) as client:
        await client.get("/missing")
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, jinja2.TemplateNotFound)
    assert "'tpl_shop/nope.html' not found" in str(error)
    assert str(write_apps({}) / "tpl_shop" / "templates") in str(error)


async def test_missing_template_is_a_500_without_details(shop: Tidal) -> None:
    async with TestClient(shop) as client:
        response = await client.get("/missing")
    assert response.status_code == 500
    assert "templates" not in response.text


async def test_mounted_app_links_include_the_mount_prefix(
    make_app: MakeApp, write_apps: WriteApps
) -> None:
    write_apps({"tpl_child/templates/link.html": "{{ url_for('leaf') }}"})
    child = make_app(apps=("tpl_child",))

    @child.get("/leaf")
    async def leaf(request: Request) -> HTMLResponse:
        return await render(request, "link.html")

    parent = make_app()
    parent.mount("/child", child, name="child")
    async with TestClient(parent) as client:
        response = await client.get("/child/leaf")
    assert response.text == "/child/leaf"


async def test_render_needs_a_tidal_request() -> None:
    request = StarletteRequest({"type": "http", "method": "GET", "path": "/", "headers": []})
    with pytest.raises(ImproperlyConfigured, match="served by a Tidal application"):
        await render(request, "page.html")
