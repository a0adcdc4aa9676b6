"""Tests of the home app, through a real HTTP client for the application."""


async def test_home_page(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Your Tidal project is up and running." in response.text
    assert "/static/home/site.css" in response.text


async def test_stylesheet(client):
    response = await client.get("/static/home/site.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


async def test_health(client):
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_unknown_page_is_a_json_404(client):
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
